evt-1order.created"shop(€Ðê¶·32{"n":1}:application/jsonB
regioneu