package protocol

import (
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	msgs := []any{
		&Hello{Version: Version, Name: "build-1", Facts: map[string]any{"os": "linux"}, Slots: 2, Jobs: []HeldJob{{JobID: "1/a/1", Running: true, LogLines: 3}}},
		&Welcome{Version: Version, Acked: map[string]int64{"1/a/1": 2}},
		&Assign{JobID: "1/a/1", TaskType: "shell", Fields: map[string]any{"run": "true"}},
		&Log{JobID: "1/a/1", Seq: 1, Lines: []Line{{Stream: 1, Time: time.Unix(1, 0).UTC(), Text: "hi"}}},
		&Ack{JobID: "1/a/1", Seq: 1},
		&Result{JobID: "1/a/1", LogLines: 1},
		&Cancel{JobID: "1/a/1"},
		&Facts{Facts: map[string]any{"cpus": 2.0}},
		&Drain{},
		&Heartbeat{SlotsUsed: 1},
		&Error{Message: "bye", Fatal: true},
	}
	for _, m := range msgs {
		data, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %T: %v", m, err)
		}
		got, err := Decode(data)
		if err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		again, _ := Encode(got)
		if string(again) != string(data) {
			t.Errorf("round trip changed %s into %s", data, again)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not json", `{"type":`, "malformed"},
		{"no type", `{"name":"x"}`, "no type"},
		{"unknown", `{"type":"launch"}`, "unknown message type"},
		{"hello without name", `{"type":"hello","version":1}`, "name is empty"},
		{"log from zero", `{"type":"log","job_id":"1/a/1","seq":0,"lines":[{"text":"x"}]}`, "numbered from 1"},
		{"log without lines", `{"type":"log","job_id":"1/a/1","seq":1}`, "no lines"},
		{"wrong field type", `{"type":"ack","job_id":"1/a/1","seq":"x"}`, "malformed ack"},
		{"too large", `{"type":"drain","x":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestJobID(t *testing.T) {
	id := JobID(42, "deploy-a/b", 3)
	run, task, attempt, err := ParseJobID(id)
	if err != nil || run != 42 || task != "deploy-a/b" || attempt != 3 {
		t.Fatalf("ParseJobID(%q) = %d %q %d %v", id, run, task, attempt, err)
	}
	for _, bad := range []string{"", "x/a/1", "1/a/x", "1//1", "1/a", "0/a/1", "1/a/0"} {
		if _, _, _, err := ParseJobID(bad); err == nil {
			t.Errorf("ParseJobID(%q) accepted", bad)
		}
	}
}

// FuzzDecode: no input makes the decoder panic, and whatever it accepts
// encodes again.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"hello","version":1,"name":"a","slots":1}`))
	f.Add([]byte(`{"type":"log","job_id":"1/a/1","seq":1,"lines":[{"stream":1,"text":"x"}]}`))
	f.Add([]byte(`{"type":"result","job_id":"1/a/1","log_lines":0,"outputs":{"a":"b"}}`))
	f.Add([]byte(`{"type":"ack","job_id":"1/a/1","seq":5,"result":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := Decode(data)
		if err != nil {
			return
		}
		if _, err := Encode(msg); err != nil && err != ErrTooLarge {
			t.Fatalf("decoded %T but cannot encode it: %v", msg, err)
		}
	})
}

func TestCheckCredential(t *testing.T) {
	tests := []struct {
		cred string
		ok   bool
	}{
		{strings.Repeat("a1", 32), true},
		{strings.Repeat("x", MinCredential), true},
		{strings.Repeat("x", MaxCredential), true},
		{"", false},
		{strings.Repeat("x", MinCredential-1), false},
		{strings.Repeat("x", MaxCredential+1), false},
		{strings.Repeat("x", 40) + " " + strings.Repeat("y", 10), false},
		{strings.Repeat("x", 40) + "\n", false},
		{strings.Repeat("é", 20), false},
	}
	for _, tt := range tests {
		if err := CheckCredential(tt.cred); (err == nil) != tt.ok {
			t.Errorf("CheckCredential(%q) = %v, want ok %v", tt.cred, err, tt.ok)
		}
	}
}
