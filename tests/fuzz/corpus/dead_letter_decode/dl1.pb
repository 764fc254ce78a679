01KBQ7Y5Z8X2M4N6P8R0T2V4W6i01KDVDNA001M6BWQMVFAQEANHEresize"	{"w":640}(8H€Ðê¶·3P°ºì¶·3X€­Æ¸·3bikjkr
abr
customer42" *timeout(2max_attempts 3 reached8 Ýð¶·3Bdrover.tasks.defaultHPMZw1