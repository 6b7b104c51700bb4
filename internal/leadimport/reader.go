// Package leadimport reads an uploaded lead CSV file as a stream: it decodes the bytes from the
// encoding rules/leadcsv detected, finds the header and the delimiter, and hands out records with
// their line numbers, never holding more than a buffer of the file.
package leadimport

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/leadcsv"
)

// Decode returns a reader of r's text as UTF-8, without a byte-order mark.
func Decode(r io.Reader, enc leadcsv.Encoding) (io.Reader, error) {
	var dec *encoding.Decoder
	switch enc {
	case leadcsv.UTF8:
		br := bufio.NewReaderSize(r, 64<<10)
		if head, _ := br.Peek(3); leadcsv.BOMLength(head) == 3 {
			_, _ = br.Discard(3)
		}
		return br, nil
	case leadcsv.UTF16LE:
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case leadcsv.UTF16BE:
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	case leadcsv.GB18030:
		dec = simplifiedchinese.GB18030.NewDecoder()
	default:
		return nil, crm.Invalid("encoding", "Unknown encoding %q.", enc)
	}
	return transform.NewReader(r, dec), nil
}

// maxHeaderSample is how much decoded text the header and delimiter are read from.
const maxHeaderSample = 64 << 10

// Header is what the first lines of a file say: its columns and their separator.
type Header struct {
	Columns   []string
	Delimiter rune
}

// ReadHeader reads the header of a file from its first bytes (head; at most 64 KiB are used) in
// the given encoding: the delimiter is detected from the first lines, and the header row must
// name its columns.
func ReadHeader(head []byte, enc leadcsv.Encoding) (Header, error) {
	r, err := Decode(strings.NewReader(string(head)), enc)
	if err != nil {
		return Header{}, err
	}
	sample, err := io.ReadAll(io.LimitReader(r, maxHeaderSample))
	if err != nil {
		return Header{}, crm.Invalid("file", "The file cannot be read as %s: %v.", enc, err)
	}
	for len(sample) > 0 && !utf8.Valid(sample) { // cut inside a character at the sample's end
		sample = sample[:len(sample)-1]
	}
	h := Header{Delimiter: leadcsv.DetectDelimiter(string(sample))}
	cr := newCSV(strings.NewReader(string(sample)), h.Delimiter)
	cols, err := cr.Read()
	if errors.Is(err, io.EOF) || (err == nil && leadcsv.Blank(cols)) {
		return h, crm.Invalid("file", "The file has no header row: its first line must name the columns, e.g. 姓名,公司,邮箱,手机 or name,company,email,phone.")
	} else if err != nil {
		return h, crm.Invalid("file", "The header row cannot be read: %v.", err)
	}
	seen := map[string]bool{}
	for i, c := range cols {
		c = strings.TrimSpace(strings.TrimPrefix(c, "\uFEFF"))
		if c == "" {
			c = fmt.Sprintf("column %d", i+1)
		}
		for base, n := c, 2; seen[c]; n++ {
			c = fmt.Sprintf("%s (%d)", base, n)
		}
		seen[c] = true
		cols[i] = c
	}
	h.Columns = cols
	return h, nil
}

func newCSV(r io.Reader, delimiter rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = delimiter
	cr.FieldsPerRecord = -1 // short and long rows are the rows' problem, reported per line
	// Quotes are strict: with lazy quotes, one unbalanced quote silently swallows the rest of the
	// file into a single value; strict, the line is reported and reading resumes on the next one.
	cr.ReuseRecord = true
	return cr
}

// Rows reads the records of a decoded file after its header.
type Rows struct {
	cr   *csv.Reader
	line int
}

// NewRows returns a reader of the records of the decoded text r in the header's dialect; its first
// Next returns the first record after the header.
func NewRows(r io.Reader, h Header) (*Rows, error) {
	rows := &Rows{cr: newCSV(r, h.Delimiter)}
	if _, err := rows.cr.Read(); err != nil {
		return nil, crm.Invalid("file", "The header row cannot be read: %v.", err)
	}
	return rows, nil
}

// Next returns the next record and the line it starts on. The record is reused by the next call.
// At the end it returns io.EOF; a record that cannot be parsed is a *csv.ParseError (see
// ParseProblem) with the line it starts on, after which reading goes on with the next line.
func (r *Rows) Next() (record []string, line int, err error) {
	record, err = r.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, err
		}
		return nil, 0, err
	}
	line, _ = r.cr.FieldPos(0)
	return record, line, nil
}

// ParseProblem explains a record the CSV reader could not parse.
func ParseProblem(pe *csv.ParseError) string {
	if pe.Line > pe.StartLine {
		return fmt.Sprintf("A quote opened on line %d is not closed where it should be (%v on line %d), so lines %d to %d were not imported; check the quotes.",
			pe.StartLine, pe.Err, pe.Line, pe.StartLine, pe.Line)
	}
	return fmt.Sprintf("The line cannot be read as CSV: %v at column %d; check its quotes.", pe.Err, pe.Column)
}
