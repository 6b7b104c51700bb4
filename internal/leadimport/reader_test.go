package leadimport

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/rapportcrm/rapport/internal/rules/leadcsv"
)

const sample = "姓名,公司,邮箱\r\n张伟,\"北京科技有限公司, 北京\",zhang.wei@example.cn\r\n\r\n\"李\n娜\",上海贸易有限公司,li.na@example.cn\r\n"

func encode(t *testing.T, enc leadcsv.Encoding, s string) []byte {
	switch enc {
	case leadcsv.GB18030:
		b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
		require.NoError(t, err)
		return b
	case leadcsv.UTF16LE:
		out := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			out = append(out, byte(u), byte(u>>8))
		}
		return out
	}
	return append([]byte{0xEF, 0xBB, 0xBF}, s...)
}

func TestRowsReadsEveryEncodingWithLineNumbers(t *testing.T) {
	t.Parallel()
	for _, enc := range []leadcsv.Encoding{leadcsv.UTF8, leadcsv.UTF16LE, leadcsv.GB18030} {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			data := encode(t, enc, sample)
			h, err := ReadHeader(data, enc)
			require.NoError(t, err)
			require.Equal(t, []string{"姓名", "公司", "邮箱"}, h.Columns)
			require.Equal(t, ',', h.Delimiter)
			// One byte at a time: characters cut between reads come out whole.
			text, err := Decode(iotest.OneByteReader(bytes.NewReader(data)), enc)
			require.NoError(t, err)
			rows, err := NewRows(text, h)
			require.NoError(t, err)
			var got []string
			var lines []int
			for {
				rec, line, err := rows.Next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				got = append(got, strings.Join(rec, "|"))
				lines = append(lines, line)
			}
			require.Equal(t, []string{"张伟|北京科技有限公司, 北京|zhang.wei@example.cn", "李\n娜|上海贸易有限公司|li.na@example.cn"}, got)
			require.Equal(t, []int{2, 4}, lines, "the header is line 1; a blank line still counts")
		})
	}
}

func TestReadHeader(t *testing.T) {
	t.Parallel()
	h, err := ReadHeader([]byte("Name\tEmail\t\tEmail\nWei\tw@x.cn\t\tw2@x.cn\n"), leadcsv.UTF8)
	require.NoError(t, err)
	require.Equal(t, '\t', h.Delimiter)
	require.Equal(t, []string{"Name", "Email", "column 3", "Email (2)"}, h.Columns, "blank and repeated headers get names")

	_, err = ReadHeader([]byte("\r\n"), leadcsv.UTF8)
	require.ErrorContains(t, err, "no header row")

	// A GBK header in a sample cut inside a character.
	long := encode(t, leadcsv.GB18030, "姓名,备注\n"+strings.Repeat("张伟,很长的备注", 10000))
	h, err = ReadHeader(long[:64<<10+1], leadcsv.GB18030)
	require.NoError(t, err)
	require.Equal(t, []string{"姓名", "备注"}, h.Columns)
}

func TestRowsGoOnAfterABadLine(t *testing.T) {
	t.Parallel()
	h := Header{Columns: []string{"name", "email"}, Delimiter: ','}
	rows, err := NewRows(strings.NewReader("name,email\nWei,\"w@x.cn\"x\nNa,n@x.cn\nO\"Brien,o@x.cn\nLi,\"l@x.cn\nMa,m@x.cn\n"), h)
	require.NoError(t, err)
	var pe *csv.ParseError
	_, line, err := rows.Next()
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 2, line)
	require.Contains(t, ParseProblem(pe), "The line cannot be read as CSV: extraneous or missing \" in quoted-field at column")
	rec, line, err := rows.Next()
	require.NoError(t, err)
	require.Equal(t, 3, line)
	require.Equal(t, "Na", rec[0])
	_, line, err = rows.Next()
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 4, line)
	require.Contains(t, ParseProblem(pe), "bare \" in non-quoted-field")
	_, line, err = rows.Next()
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 5, line)
	require.Contains(t, ParseProblem(pe), "A quote opened on line 5 is not closed where it should be (extraneous or missing \" in quoted-field on line 6), so lines 5 to 6 were not imported")
	_, _, err = rows.Next()
	require.ErrorIs(t, err, io.EOF)
}
