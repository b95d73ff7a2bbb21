package storage

import (
	"context"
	"slices"
	"testing"
)

// TestCompositionNames lists the compositions that are not deleted, sorted.
func TestCompositionNames(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	if names, err := s.CompositionNames(ctx); err != nil || len(names) != 0 {
		t.Fatalf("empty store: %v %v", names, err)
	}
	for _, name := range []string{"deploy", "build", "old"} {
		if _, _, err := s.SaveComposition(ctx, name, "name: "+name+"\n", "alice", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.SaveComposition(ctx, "build", "name: build\ndescription: again\n", "alice", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteComposition(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	names, err := s.CompositionNames(ctx)
	if err != nil || !slices.Equal(names, []string{"build", "deploy"}) {
		t.Errorf("names = %v, %v; want [build deploy]", names, err)
	}
}
