#include "textflag.h"

// func cleanBlocksAVX2(b []byte) int
//
// The length of the longest prefix of b made of whole 32-byte blocks in
// which every byte is 0x20–0x7E and not '%' (docs/format.md §3.2: bytes written as
// they are). Same contract as cleanBlocksSWAR; 64 bytes per step.
//
// Three compares per block, on signed bytes: 0x20 > c catches 0x00–0x1F
// and, being negative, 0x80–0xFF; c > 0x7E catches 0x7F; c == '%' the
// rest.
TEXT ·cleanBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	XORQ AX, AX
	MOVL $0x20, DX
	MOVQ DX, X1
	VPBROADCASTB X1, Y1
	MOVL $0x7E, DX
	MOVQ DX, X2
	VPBROADCASTB X2, Y2
	MOVL $0x25, DX
	MOVQ DX, X3
	VPBROADCASTB X3, Y3

loop64:
	MOVQ CX, DX
	SUBQ AX, DX
	CMPQ DX, $64
	JB   tail32
	VMOVDQU  (SI)(AX*1), Y4
	VMOVDQU  32(SI)(AX*1), Y5
	VPCMPGTB Y4, Y1, Y6
	VPCMPGTB Y2, Y4, Y7
	VPCMPEQB Y3, Y4, Y8
	VPOR     Y7, Y6, Y6
	VPOR     Y8, Y6, Y6
	VPCMPGTB Y5, Y1, Y9
	VPCMPGTB Y2, Y5, Y10
	VPCMPEQB Y3, Y5, Y11
	VPOR     Y10, Y9, Y9
	VPOR     Y11, Y9, Y9
	VPOR     Y9, Y6, Y12
	VPTEST   Y12, Y12
	JNZ      which
	ADDQ     $64, AX
	JMP      loop64

which:
	// Some byte of these 64 needs escaping: keep the first 32 when they
	// are clean.
	VPTEST Y6, Y6
	JNZ    done
	ADDQ   $32, AX
	JMP    done

tail32:
	CMPQ DX, $32
	JB   done
	VMOVDQU  (SI)(AX*1), Y4
	VPCMPGTB Y4, Y1, Y6
	VPCMPGTB Y2, Y4, Y7
	VPCMPEQB Y3, Y4, Y8
	VPOR     Y7, Y6, Y6
	VPOR     Y8, Y6, Y6
	VPTEST   Y6, Y6
	JNZ      done
	ADDQ     $32, AX

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
