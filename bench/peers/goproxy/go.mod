module github.com/mitmgo/mitmgo/bench/peers/goproxy

go 1.26

require (
	github.com/elazarl/goproxy v1.9.3
	github.com/mitmgo/mitmgo/bench/peers/peerca v0.0.0
)

require (
	golang.org/x/net v0.50.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/mitmgo/mitmgo/bench/peers/peerca => ../peerca
