// The Go twins of examples/http_server.rs and examples/echo_server.rs:
// net/http's hello server and an io.Copy echo server, one goroutine per
// connection. Usage: gonet <http|echo> <addr>.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	mode, addr := os.Args[1], os.Args[2]
	switch mode {
	case "http":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "Hello, World!")
		})
		if err := http.ListenAndServe(addr, nil); err != nil {
			panic(err)
		}
	case "echo":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			panic(err)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				continue
			}
			go func(c net.Conn) {
				defer c.Close()
				io.Copy(c, c)
			}(c)
		}
	}
}
