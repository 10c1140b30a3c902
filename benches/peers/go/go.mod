module stacklessbench/peers

go 1.19
