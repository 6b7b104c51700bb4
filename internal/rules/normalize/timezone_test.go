package normalize

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTimeZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "Shanghai", in: "Asia/Shanghai", want: "Asia/Shanghai"},
		{name: "trimmed", in: " Asia/Tokyo ", want: "Asia/Tokyo"},
		{name: "UTC", in: "UTC", want: "UTC"},
		{name: "recently renamed zone", in: "Europe/Kyiv", want: "Europe/Kyiv"},
		{name: "empty", in: "", err: "must be named"},
		{name: "Local", in: "Local", err: "must be named"},
		{name: "city name", in: "Beijing", err: `"Beijing" is not an IANA time zone name: send an IANA time zone name like Asia/Shanghai`},
		{name: "offset", in: "UTC+8", err: "not an IANA time zone name"},
		{name: "path traversal", in: "../../etc/passwd", err: "not an IANA time zone name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := TimeZone("timeZone", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "timeZone", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzTimeZone(f *testing.F) {
	for _, s := range []string{"Asia/Shanghai", " UTC ", "Local", "", "America/Argentina/Buenos_Aires", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzNormalizer(t, "timeZone", func(s string) (string, error) { return TimeZone("timeZone", s) }, s)
	})
}
