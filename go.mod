module github.com/sealog/sealog

go 1.24

require (
	github.com/influxdata/go-syslog/v3 v3.0.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
