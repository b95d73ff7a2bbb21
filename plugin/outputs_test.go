package plugin

import (
	"maps"
	"strings"
	"testing"
)

func TestParseOutputs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{
			name: "simple",
			in:   "a=1\nb.c-d=x=y\n\n_e=\r\nurl=http://x/?q=a<<b\n",
			want: map[string]string{"a": "1", "b.c-d": "x=y", "_e": "", "url": "http://x/?q=a<<b"},
		},
		{name: "last line without newline", in: "a=1\nb=2", want: map[string]string{"a": "1", "b": "2"}},
		{name: "repeated name keeps the last", in: "a=1\na=2\n", want: map[string]string{"a": "2"}},
		{
			name: "heredoc",
			in:   "notes<<EOF\nline one\n\nline=three\r\nEOF\nafter=yes\n",
			want: map[string]string{"notes": "line one\n\nline=three", "after": "yes"},
		},
		{name: "empty heredoc", in: "x<<END\nEND\n", want: map[string]string{"x": ""}},
		{name: "heredoc without end", in: "a=1\n\nnotes<<EOF\nsome\nEOFX\n", wantErr: "BATON_OUTPUT line 3: notes<<EOF is never closed"},
		{name: "heredoc without delimiter", in: "notes<<\n", wantErr: "BATON_OUTPUT line 1: notes<< has no delimiter"},
		{name: "bad name", in: "ok=1\n9lives=2\n", wantErr: `BATON_OUTPUT line 2: bad name "9lives"`},
		{name: "bad heredoc name", in: "a b<<EOF\nx\nEOF\n", wantErr: `BATON_OUTPUT line 1: bad name "a b"`},
		{name: "no separator", in: "a=1\nb=2\njust text\n", wantErr: `BATON_OUTPUT line 3: "just text" is neither name=value nor name<<DELIMITER`},
		{name: "size cap", in: "a=" + strings.Repeat("x", MaxOutputsBytes), wantErr: "BATON_OUTPUT is over 1048576 bytes (1 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOutputs(strings.NewReader(tt.in), "BATON_OUTPUT")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseOutputsAtCap(t *testing.T) {
	in := "a=" + strings.Repeat("x", MaxOutputsBytes-2)
	got, err := ParseOutputs(strings.NewReader(in), "BATON_CONTEXT")
	if err != nil {
		t.Fatal(err)
	}
	if len(got["a"]) != MaxOutputsBytes-2 {
		t.Errorf("len = %d", len(got["a"]))
	}
}
