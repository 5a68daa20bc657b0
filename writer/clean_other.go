//go:build !amd64

package writer

// haveAVX2 is false off amd64; cleanBlocks is the SWAR loop.
var haveAVX2 = false

func cleanBlocks(b []byte) int { return cleanBlocksSWAR(b) }
