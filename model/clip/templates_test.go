package clip

import (
	"strings"
	"testing"
)

func TestViLDTemplates(t *testing.T) {
	tpl := ViLDTemplates()
	if len(tpl) != 63 {
		t.Fatalf("%d templates, want ViLD's 63", len(tpl))
	}
	checks := []struct {
		name string
		i    int
		want string
	}{
		{"first", 0, "There is {article} {} in the scene."},
		{"ninth", 8, "a photo of {article} {}."},
		{"last", 62, "a painting of a {}."},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tpl[tc.i] != tc.want {
				t.Errorf("template %d = %q, want %q", tc.i, tpl[tc.i], tc.want)
			}
		})
	}
	seen := map[string]bool{}
	for _, s := range tpl {
		if strings.Count(s, "{}") != 1 || strings.Count(s, "{") != strings.Count(s, "{}")+strings.Count(s, "{article}") {
			t.Errorf("template %q: want exactly one {} and no other placeholder than {article}", s)
		}
		if seen[s] {
			t.Errorf("template %q twice", s)
		}
		seen[s] = true
	}
	tpl[0] = "changed"
	if ViLDTemplates()[0] == "changed" {
		t.Error("ViLDTemplates returns the package's own slice")
	}
}

func TestPrompt(t *testing.T) {
	tests := []struct {
		name, template, class, want string
	}{
		{"article a", "a photo of {article} {}.", "cat", "a photo of a cat."},
		{"article an", "There is {article} {} in the scene.", "elephant", "There is an elephant in the scene."},
		{"no article", "a photo of the {}.", "dog", "a photo of the dog."},
		{"lvis underscores", "a photo of {article} {}.", "traffic_light", "a photo of a traffic light."},
		{"objects365 slash", "a photo of the {}.", "glasses/eyeglasses", "a photo of the glasses or eyeglasses."},
		{"lower-cased, trailing dot dropped", "itap of {article} {}.", "Orange.", "itap of an orange."},
		{"braces in the name stay", "a {}.", "odd{}name", "a odd{}name."},
		{"empty name", "a photo of {article} {}.", "", "a photo of a ."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prompt(tc.template, tc.class); got != tc.want {
				t.Errorf("Prompt(%q, %q) = %q, want %q", tc.template, tc.class, got, tc.want)
			}
		})
	}
}
