module github.com/mitmgo/mitmgo/bench/peers/peerca

go 1.26
