01KBQ7Y5Z8X2M4N6P8R0T2V4W6V01KDVDNA00CVTGWFY21PMCH50Zh"""(0H€Ðê¶·3r
xz
nightly(‚w1 *boom8÷" *timeout(2max_attempts 3 reached8 Ýð¶·3Bdrover.tasks.defaultHPMZw1