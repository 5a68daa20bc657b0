package writer

import "golang.org/x/sys/cpu"

// haveAVX2 chooses the vector scan; tests turn it off to check the SWAR
// loop on the same inputs.
var haveAVX2 = cpu.X86.HasAVX2

// cleanBlocksAVX2 is in clean_amd64.s.
//
//go:noescape
func cleanBlocksAVX2(b []byte) int

// cleanBlocks returns the length of the longest prefix of b made of whole
// 32-byte blocks that need no escaping. On amd64 with AVX2 it compares 64
// bytes a step (the 1 KiB × 8 profile had the SWAR scan at 8 %
// of sealog's CPU); elsewhere it is cleanBlocksSWAR.
func cleanBlocks(b []byte) int {
	if haveAVX2 {
		return cleanBlocksAVX2(b)
	}
	return cleanBlocksSWAR(b)
}
