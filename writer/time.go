package writer

import "time"

// digits2 holds "00".."99" so two digits are one table read.
const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

func append2(dst []byte, v int) []byte {
	return append(dst, digits2[2*v], digits2[2*v+1])
}

// AppendTime appends t in UTC as "2026-11-22T10:15:00.123456Z": always six
// fraction digits, truncated to the microsecond (docs/format.md §3.3 TIME, [T 21.5]).
// It avoids time.Format, which is several times slower on the hot path.
//
// Years outside 0000–9999 cannot come from a clock; they are written
// with a sign and as many digits as they need, so the line stays
// printable ASCII and no information is lost.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	usec := t.Nanosecond() / 1000

	if year >= 0 && year <= 9999 {
		dst = append2(dst, year/100)
		dst = append2(dst, year%100)
	} else {
		dst = appendYearWide(dst, year)
	}
	dst = append(dst, '-')
	dst = append2(dst, int(month))
	dst = append(dst, '-')
	dst = append2(dst, day)
	dst = append(dst, 'T')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, minute)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	dst = append(dst, '.')
	dst = append2(dst, usec/10000)
	dst = append2(dst, usec/100%100)
	dst = append2(dst, usec%100)
	return append(dst, 'Z')
}

func appendYearWide(dst []byte, year int) []byte {
	if year < 0 {
		dst = append(dst, '-')
		year = -year
	}
	var b [20]byte
	i := len(b)
	for year > 0 || i > len(b)-4 {
		i--
		b[i] = byte('0' + year%10)
		year /= 10
	}
	return append(dst, b[i:]...)
}
