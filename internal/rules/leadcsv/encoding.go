// Package leadcsv holds the rules of importing leads from a CSV file: which text encoding the
// bytes are in, which delimiter separates the columns, which column feeds which lead field, and
// what a row must hold to become a lead, with a reason per line and field when it does not. It
// reads no file itself: the import streams the bytes through it.
package leadcsv

import (
	"bytes"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Encoding names the text encoding of an uploaded file.
type Encoding string

// The encodings an import reads. Anything else is refused with a message that says to save the
// file as UTF-8, so that no mojibake is ever stored.
const (
	UTF8    Encoding = "UTF-8"
	UTF16LE Encoding = "UTF-16LE" // with a byte-order mark (Excel's "Unicode text")
	UTF16BE Encoding = "UTF-16BE" // with a byte-order mark
	GB18030 Encoding = "GB18030"  // GBK and GB2312 are subsets: what Excel saves on Chinese Windows
)

// Byte-order marks.
var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// The share of GB18030 two-byte characters that must lie in the GB2312 block (lead and trail bytes
// 0xA1-0xFE: everyday hanzi and full-width punctuation) for a file that is not UTF-8 to be read as
// Chinese. Latin-1 and Windows-1252 text often happens to be structurally valid GB18030 ("ü" before
// a letter), but its pairs fall outside that block.
const gbCommonShare = 0.9

// Sniffer decides a file's encoding from all of its bytes, fed in order with Write (in pieces of
// any size, without keeping them): a byte-order mark decides at once; otherwise the file is UTF-8
// if every byte sequence is valid UTF-8, GB18030 if it is valid GB18030 made of everyday Chinese
// characters, and refused otherwise. The zero value is ready to use.
type Sniffer struct {
	n        int64   // bytes seen
	head     [4]byte // the first bytes, for the byte-order mark
	bom      Encoding
	pending  [4]byte // an incomplete UTF-8 sequence at the end of the last piece
	npending int
	badUTF8  int64 // offset of the first invalid UTF-8 sequence, -1 while valid
	nul      bool  // a NUL byte: UTF-16 without byte-order mark, or not text at all
	gbState  int   // 0: between characters; 1: after a lead byte; 2: after lead and digit; 3: expect the last digit
	gbLead   byte
	gbBad    bool
	gbPairs  int64 // two-byte characters
	gbCommon int64 // of which in the GB2312 block
	started  bool
}

// Write feeds the next bytes of the file. It never fails.
func (s *Sniffer) Write(p []byte) (int, error) {
	if !s.started {
		s.started, s.badUTF8 = true, -1
	}
	if s.n < int64(len(s.head)) {
		copy(s.head[s.n:], p)
	}
	start := s.n
	s.n += int64(len(p))
	if s.bom == "" && start < 4 {
		s.bom = bomOf(s.head[:min(s.n, 4)])
	}
	if s.bom != "" && s.bom != UTF8 {
		return len(p), nil // UTF-16 is decided by its mark
	}
	if bytes.IndexByte(p, 0) >= 0 {
		s.nul = true
	}
	s.utf8(p, start)
	s.gb(p)
	return len(p), nil
}

func bomOf(head []byte) Encoding {
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		return UTF8
	case bytes.HasPrefix(head, bomUTF16LE):
		return UTF16LE
	case bytes.HasPrefix(head, bomUTF16BE):
		return UTF16BE
	}
	return ""
}

// utf8 validates p as the continuation of what came before, carrying an incomplete sequence over.
func (s *Sniffer) utf8(p []byte, offset int64) {
	if s.badUTF8 >= 0 {
		return
	}
	// Complete a sequence left over from the previous piece.
	for s.npending > 0 && len(p) > 0 {
		s.pending[s.npending] = p[0]
		s.npending++
		p, offset = p[1:], offset+1
		if utf8.FullRune(s.pending[:s.npending]) {
			if r, _ := utf8.DecodeRune(s.pending[:s.npending]); r == utf8.RuneError {
				s.badUTF8 = offset - int64(s.npending)
				return
			}
			s.npending = 0
		}
	}
	if len(p) == 0 {
		return
	}
	// Hold back a sequence cut off at the end of p.
	cut := len(p)
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(p[:cut]) {
		for i := 0; i < cut; {
			r, size := utf8.DecodeRune(p[i:cut])
			if r == utf8.RuneError && size <= 1 {
				s.badUTF8 = offset + int64(i)
				return
			}
			i += size
		}
	}
	s.npending = copy(s.pending[:], p[cut:])
}

// gb validates p as GB18030: ASCII, two-byte characters (lead 0x81-0xFE, trail 0x40-0x7E or
// 0x80-0xFE) and four-byte ones (lead, 0x30-0x39, 0x81-0xFE, 0x30-0x39).
func (s *Sniffer) gb(p []byte) {
	if s.gbBad {
		return
	}
	for _, b := range p {
		switch s.gbState {
		case 0:
			switch {
			case b < 0x80:
			case b >= 0x81 && b <= 0xFE:
				s.gbState, s.gbLead = 1, b
			default:
				s.gbBad = true
				return
			}
		case 1:
			switch {
			case b >= 0x30 && b <= 0x39:
				s.gbState = 2
			case (b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE):
				s.gbPairs++
				if s.gbLead >= 0xA1 && b >= 0xA1 {
					s.gbCommon++
				}
				s.gbState = 0
			default:
				s.gbBad = true
				return
			}
		case 2:
			if b < 0x81 || b > 0xFE {
				s.gbBad = true
				return
			}
			s.gbState = 3
		case 3:
			if b < 0x30 || b > 0x39 {
				s.gbBad = true
				return
			}
			s.gbState = 0
		}
	}
}

// Encoding returns the file's encoding once every byte was written, or an EINVALID error on field
// "file" that says what the bytes look like and how to save the file instead.
func (s *Sniffer) Encoding() (Encoding, error) {
	const save = "Save it as \"CSV UTF-8\" (Excel: File > Save As > CSV UTF-8; WPS and Numbers: export as UTF-8) and upload it again."
	switch {
	case s.n == 0:
		return "", crm.Invalid("file", "The file is empty: upload a CSV file with a header row.")
	case s.bom == UTF16LE || s.bom == UTF16BE:
		if s.n%2 != 0 {
			return "", crm.Invalid("file", "The file starts with a %s byte-order mark but has an odd number of bytes: it is cut off or not %s. %s", s.bom, s.bom, save)
		}
		return s.bom, nil
	case s.nul:
		return "", crm.Invalid("file", "The file contains NUL bytes: it is UTF-16 without a byte-order mark, or not a text file. %s", save)
	case s.badUTF8 < 0 && s.npending == 0:
		return UTF8, nil
	case s.bom == UTF8:
		return "", crm.Invalid("file", "The file starts with a UTF-8 byte-order mark but byte %d is not valid UTF-8: it mixes encodings. %s", s.badOffset(), save)
	case !s.gbBad && s.gbState == 0 && s.gbPairs > 0 && float64(s.gbCommon) >= gbCommonShare*float64(s.gbPairs):
		return GB18030, nil
	case !s.gbBad && s.gbState == 0 && s.gbPairs > 0:
		return "", crm.Invalid("file", "The file is not UTF-8 (byte %d), and reading it as Chinese GBK/GB18030 gives mostly rare characters: it is probably in a Western encoding such as Windows-1252 or Latin-1. %s", s.badOffset(), save)
	}
	return "", crm.Invalid("file", "The file is neither UTF-8 (byte %d is not valid UTF-8) nor Chinese GBK/GB18030: it is probably in a Western encoding such as Windows-1252 or Latin-1. %s", s.badOffset(), save)
}

// badOffset is the offset of the first byte that is not valid UTF-8 (the cut-off end when the
// file ends inside a sequence).
func (s *Sniffer) badOffset() int64 {
	if s.badUTF8 >= 0 {
		return s.badUTF8
	}
	return s.n - int64(s.npending)
}

// BOMLength is the length of the byte-order mark the encoding's files start with (0 when the file
// has none), so that a reader can skip it.
func BOMLength(head []byte) int {
	switch bomOf(head) {
	case UTF8:
		return len(bomUTF8)
	case UTF16LE, UTF16BE:
		return 2
	}
	return 0
}
