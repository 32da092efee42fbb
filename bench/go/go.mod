module gobench

go 1.25
