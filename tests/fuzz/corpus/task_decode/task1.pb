01KDVDNA001M6BWQMVFAQEANHEresize"	{"w":640}(8H€Ðê¶·3P°ºì¶·3X€­Æ¸·3bikjkr
abr
customer42