module github.com/sealog/sealog

go 1.26.0

require (
	github.com/influxdata/go-syslog/v3 v3.0.0
	github.com/spf13/pflag v1.0.10
	golang.org/x/sys v0.49.0
)

require golang.org/x/mod v0.43.0
