module gonet

go 1.22
