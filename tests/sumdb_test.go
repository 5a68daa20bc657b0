package tests

import "github.com/sealog/sealog/internal/sumdbref"

// sumdbLinesRoot is the reference ROOT (golang.org/x/mod/sumdb/tlog) the
// binary's trees and checkpoints are checked against.
var sumdbLinesRoot = sumdbref.LinesRoot
