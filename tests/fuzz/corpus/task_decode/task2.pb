01KDVDNA00CVTGWFY21PMCH50Zh"""(0H€Ðê¶·3r
xz
nightly(‚w1 *boom8÷