package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"baton/engine"
	"baton/model"
)

// TestLoadCompositionDir walks the policy that reconciles composition
// files with versions edited or deleted since: a file is loaded when it
// differs from what was last loaded from a file.
func TestLoadCompositionDir(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current := func(name string) model.CompositionVersion {
		t.Helper()
		v, err := h.store.GetComposition(ctx, name)
		if err != nil {
			t.Fatalf("composition %s: %v", name, err)
		}
		return v
	}
	const v1 = "name: app\ntasks:\n  - id: a\n    run: echo one\n"
	write("app.yaml", v1)
	write("broken.yaml", "name: broken\ntasks:\n  - id: a\n    typ: nope\n")
	write("dup.yml", "name: app\ntasks:\n  - id: b\n    run: echo dup\n")
	h.eng.LoadCompositionDir(ctx, dir)
	if c := current("app"); c.Version != 1 || c.Author != "file" || c.Source != v1 {
		t.Fatalf("first load: %+v", c)
	}
	if _, err := h.store.GetComposition(ctx, "broken"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("an invalid file was loaded: %v", err)
	}

	// Edited since, file unchanged: the edit stays.
	if _, _, err := h.eng.SaveComposition(ctx, "app", []byte("name: app\ntasks:\n  - id: a\n    run: echo edited\n"), "alice", ""); err != nil {
		t.Fatal(err)
	}
	h.eng.LoadCompositionDir(ctx, dir)
	if c := current("app"); c.Author != "alice" {
		t.Fatalf("an unchanged file replaced the edited version: %+v", c)
	}
	// The file changes: it becomes the newest version.
	const v2 = "name: app\ntasks:\n  - id: a\n    run: echo two\n"
	write("app.yaml", v2)
	h.eng.LoadCompositionDir(ctx, dir)
	if c := current("app"); c.Author != "file" || c.Source != v2 || c.Version != 3 {
		t.Fatalf("a changed file: %+v", c)
	}
	// Deleted since, file unchanged: it stays deleted; a changed file brings it back.
	if err := h.eng.DeleteComposition(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	h.eng.LoadCompositionDir(ctx, dir)
	if _, err := h.store.GetComposition(ctx, "app"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a deleted composition came back from its unchanged file: %v", err)
	}
	write("app.yaml", "name: app\ntasks:\n  - id: a\n    run: echo three\n")
	h.eng.LoadCompositionDir(ctx, dir)
	if c := current("app"); c.Author != "file" {
		t.Fatalf("a changed file did not bring the composition back: %+v", c)
	}
}

// TestTriggerLifecycle: the engine checks, stores, activates and removes
// triggers; a trigger that does not validate is refused with its problems
// and nothing is stored; a trigger directory loads its valid files.
func TestTriggerLifecycle(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const src = "name: nightly\nkind: schedule\nschedule: \"0 3 * * *\"\nrun: {composition: hello}\n"
	v, created, err := h.eng.SaveTrigger(ctx, "nightly", []byte(src), "alice", "")
	if err != nil || !created || v.Version != 1 {
		t.Fatalf("SaveTrigger: %v, created %v, %+v", err, created, v)
	}
	if _, ok := h.eng.Trigger("nightly"); !ok {
		t.Fatal("a saved trigger is not active")
	}
	var invalid *engine.InvalidError
	if _, _, err := h.eng.SaveTrigger(ctx, "other", []byte(src), "alice", ""); !errors.As(err, &invalid) {
		t.Fatalf("a name that does not match: %v", err)
	}
	if _, _, err := h.eng.SaveTrigger(ctx, "bad", []byte("name: bad\nkind: nope\n"), "alice", ""); !errors.As(err, &invalid) {
		t.Fatalf("an invalid trigger: %v", err)
	}
	if ts, _ := h.store.ListTriggers(ctx); len(ts) != 1 {
		t.Fatalf("%d triggers stored, want 1", len(ts))
	}
	if err := h.eng.DeleteTrigger(ctx, "nightly"); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.eng.Trigger("nightly"); ok {
		t.Fatal("a deleted trigger is still active")
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(src), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("name: b\nkind: nope\n"), 0o644)
	if err := h.eng.LoadTriggerDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.eng.Trigger("nightly"); !ok {
		t.Fatal("the valid file of a trigger directory is not active")
	}
	if ts, _ := h.store.ListTriggers(ctx); len(ts) != 1 {
		t.Fatalf("%d triggers stored from the directory, want 1", len(ts))
	}
}
