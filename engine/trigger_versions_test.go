package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baton/composition"
	"baton/engine"
	"baton/model"
	"baton/storage"
)

// TestSaveTriggerFromBase: saves from the current version make versions;
// a save from an older one, or a new trigger under a taken name, is a
// stale error that stores nothing and leaves the active trigger as it was.
func TestSaveTriggerFromBase(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	src := func(cron string) []byte {
		return []byte("name: nightly\nkind: schedule\nschedule: \"" + cron + "\"\nrun: {composition: hello}\n")
	}
	if v, _, err := h.eng.SaveTriggerFrom(ctx, "", src("0 3 * * *"), "alice", "first", 0); err != nil || v.Version != 1 {
		t.Fatalf("new trigger: %+v %v", v, err)
	}
	if v, _, err := h.eng.SaveTriggerFrom(ctx, "nightly", src("0 4 * * *"), "bob", "later", 1); err != nil || v.Version != 2 {
		t.Fatalf("from version 1: %+v %v", v, err)
	}
	for _, base := range []int{0, 1} {
		_, _, err := h.eng.SaveTriggerFrom(ctx, "nightly", src("0 5 * * *"), "carol", "", base)
		var stale *storage.TriggerStaleError
		if !errors.As(err, &stale) || stale.Current.Version != 2 || stale.Current.Author != "bob" {
			t.Errorf("from base %d: %v, want a stale error naming version 2 by bob", base, err)
		}
	}
	if tr, _ := h.eng.Trigger("nightly"); tr == nil || tr.Cron.Spec != "0 4 * * *" {
		t.Fatalf("a refused save changed the active trigger: %+v", tr)
	}
	// A source that does not validate is refused before the base is looked at.
	_, _, err := h.eng.SaveTriggerFrom(ctx, "nightly", []byte("name: nightly\nkind: schedule\nschedule: \"0 99 * * *\"\nrun: {composition: hello}\n"), "carol", "", 2)
	var invalid *engine.InvalidError
	var probs composition.Problems
	if !errors.As(err, &invalid) || !errors.As(err, &probs) || probs[0].Line != 3 {
		t.Fatalf("invalid source: %v", err)
	}
	if vs, _ := h.store.ListTriggerVersions(ctx, "nightly"); len(vs) != 2 {
		t.Fatalf("%d versions after refused saves, want 2", len(vs))
	}
}

// TestTriggerKeepsRedactedSecret: a source whose secret: is "[redacted]",
// as the page and the API show it, keeps the stored secret; with no
// literal secret stored it is refused at its line and column, and so is a
// secret that merely holds [redacted].
func TestTriggerKeepsRedactedSecret(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const real = "a-real-secret-0042"
	base := "name: gh\nkind: github\nsecret: " + real + "\nrules:\n  - run: {composition: hello}\n"
	if _, _, err := h.eng.SaveTrigger(ctx, "gh", []byte(base), "alice", ""); err != nil {
		t.Fatal(err)
	}
	edited := "name: gh\nkind: github\ndescription: edited\nsecret: \"[redacted]\"\nrules:\n  - run: {composition: hello}\n"
	v, created, err := h.eng.SaveTrigger(ctx, "gh", []byte(edited), "bob", "")
	if err != nil || !created {
		t.Fatalf("save keeping the secret: %v", err)
	}
	if !strings.Contains(v.Source, "secret: "+real+"\n") || strings.Contains(v.Source, "[redacted]") {
		t.Errorf("stored source:\n%s", v.Source)
	}
	if tr, _ := h.eng.Trigger("gh"); tr.Secret != real || tr.Description != "edited" {
		t.Errorf("active trigger: secret %q, description %q", tr.Secret, tr.Description)
	}

	cases := []struct {
		name, src, says string
	}{
		{"nothing stored to keep", strings.Replace(edited, "name: gh", "name: other", 1), "there is none to keep"},
		{"a secret holding the placeholder", strings.Replace(edited, `"[redacted]"`, `"x[redacted]"`, 1), "stands for a hidden secret"},
	}
	for _, c := range cases {
		name := strings.TrimPrefix(strings.SplitN(c.src, "\n", 2)[0], "name: ")
		_, err := h.eng.CheckTriggerSource(ctx, name, []byte(c.src))
		var probs composition.Problems
		if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Line != 4 || probs[0].Col != 9 || !strings.Contains(probs[0].Message, c.says) {
			t.Errorf("%s: %v, want one problem at 4:9 saying %q", c.name, err, c.says)
		}
	}
}

// TestLoadTriggerDirPolicy walks the policy that reconciles trigger files
// with versions saved or deleted since, as for composition files.
func TestLoadTriggerDirPolicy(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(src string) {
		if err := os.WriteFile(filepath.Join(dir, "nightly.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current := func() model.TriggerVersion {
		t.Helper()
		v, err := h.store.GetTrigger(ctx, "nightly")
		if err != nil {
			t.Fatalf("trigger nightly: %v", err)
		}
		return v
	}
	load := func() {
		t.Helper()
		if err := h.eng.LoadTriggerDir(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	src := func(cron string) string {
		return "name: nightly\nkind: schedule\nschedule: \"" + cron + "\"\nrun: {composition: hello}\n"
	}
	write(src("0 1 * * *"))
	load()
	load() // a restart with the same file writes no new version
	if c := current(); c.Version != 1 || c.Author != "file" || !strings.HasPrefix(c.Message, "loaded from ") {
		t.Fatalf("first load: %+v", c)
	}
	if _, _, err := h.eng.SaveTrigger(ctx, "nightly", []byte(src("0 2 * * *")), "alice", ""); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		file    string // written before loading; "" leaves the file
		delete  bool   // delete the trigger before loading
		author  string // current version's author after loading; "" means deleted
		version int
	}{
		{"edited since, file unchanged: the edit stays", "", false, "alice", 2},
		{"the file changes: it replaces the edit", src("0 3 * * *"), false, "file", 3},
		{"deleted since, file unchanged: stays deleted", "", true, "", 0},
		{"the file changes again: it comes back", src("0 4 * * *"), false, "file", 4},
	}
	for _, s := range steps {
		if s.file != "" {
			write(s.file)
		}
		if s.delete {
			if err := h.eng.DeleteTrigger(ctx, "nightly"); err != nil {
				t.Fatal(err)
			}
		}
		load()
		v, err := h.store.GetTrigger(ctx, "nightly")
		_, active := h.eng.Trigger("nightly")
		switch {
		case s.author == "" && (!errors.Is(err, model.ErrNotFound) || active):
			t.Errorf("%s: %+v %v, active %v", s.name, v, err, active)
		case s.author != "" && (err != nil || v.Author != s.author || v.Version != s.version || !active):
			t.Errorf("%s: %+v %v, active %v; want version %d by %s", s.name, v, err, active, s.version, s.author)
		}
	}
}
