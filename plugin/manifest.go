package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"baton/composition"
	"baton/yamltree"
)

// ManifestFile is the name of the manifest in a plugin directory.
const ManifestFile = "plugin.yaml"

// ManifestError is one problem in a plugin manifest, with where it is.
type ManifestError struct {
	File string // the manifest's path
	Line int    // from 1; 0 when the problem has no one place
	Col  int
	Msg  string
}

// Error formats the problem as file:line:col: message.
func (e *ManifestError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// LoadPlugin reads the plugin in dir from its plugin.yaml:
//
//	name: cloud
//	version: 1.0.0
//	description: Starts and stops instances.   # markdown
//	tasks:
//	  cloud.provision:
//	    description: Start instances
//	    icon: cloud
//	    command: [./provision.sh]     # relative to the plugin directory
//	    exports: [cloud.instances]    # context keys it sets
//	    fields:
//	      count: {type: number, default: 1, description: How many}
//	      image: {type: string, required: true}
//
// Task type names start with the plugin's name and a dot; field types are
// composition field types; a command is a path relative to the plugin
// directory to an executable file, or a program name found in PATH. Keys
// other than these are errors. Every problem found is reported, each as a
// *ManifestError at its place in the file. The plugin's Dir is absolute and
// its Hash covers the whole directory.
func LoadPlugin(dir string) (*Plugin, error) {
	file := filepath.Join(dir, ManifestFile)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", dir, err)
	}
	src, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("plugin %s: no %s; a plugin directory needs one naming the plugin and its tasks", dir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", dir, err)
	}
	d := &manifestDecoder{file: file, dir: abs}
	p := d.decode(src)
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b error) int {
			ma, mb := a.(*ManifestError), b.(*ManifestError)
			return cmp.Or(cmp.Compare(ma.Line, mb.Line), cmp.Compare(ma.Col, mb.Col))
		})
		return nil, errors.Join(d.errs...)
	}
	p.Dir = abs
	if p.Hash, err = Hash(abs); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", dir, err)
	}
	return p, nil
}

// manifestDecoder turns a manifest's YAML tree into a Plugin,
// collecting every problem with its position.
type manifestDecoder struct {
	file string
	dir  string // absolute; commands are checked against it
	errs []error
}

var (
	pluginKeys = []string{"name", "version", "description", "tasks"}
	taskKeys   = []string{"description", "icon", "command", "exports", "fields"}
	fieldKeys  = []string{"type", "required", "default", "enum", "description"}
	fieldTypes = []composition.FieldType{
		composition.TypeString, composition.TypeText, composition.TypeNumber, composition.TypeBoolean,
		composition.TypeList, composition.TypeMap, composition.TypeSecret, composition.TypeDuration,
	}
)

// decode parses src and decodes the plugin it describes.
func (d *manifestDecoder) decode(src []byte) *Plugin {
	p := &Plugin{}
	body, probs, ok := yamltree.Read(src, ManifestFile+" holds more than one YAML document; keep only one")
	for _, pr := range probs {
		d.errorAt(pr.Pos, "%s", pr.Message)
	}
	if !ok {
		return p
	}
	if body == nil {
		d.errorAt(yamltree.Pos{Line: 1, Col: 1}, "the manifest is empty; give at least name: and tasks:")
		return p
	}
	var name, tasks *yamltree.Entry
	for _, e := range d.entries(body, "the manifest") {
		switch e.Key {
		case "name":
			name = &e
			p.Name = d.str(e.Val, "name")
		case "version":
			p.Version = d.scalarText(e.Val, "version")
		case "description":
			p.Description = d.str(e.Val, "description")
		case "tasks":
			tasks = &e
		default:
			d.unknownKey(e, "the manifest", pluginKeys)
		}
	}
	switch {
	case name == nil:
		d.errorf(body, "no name: add name: <plugin name>; it also starts the name of each of its task types")
	case !validPluginName(p.Name):
		d.errorf(name.Val, "plugin name %q: use letters, digits, _ and - only, starting with a letter", p.Name)
		p.Name = ""
	}
	if tasks == nil {
		d.errorf(body, "no tasks: add tasks: with at least one task type")
		return p
	}
	entries := d.entries(tasks.Val, "tasks")
	if len(entries) == 0 {
		d.errorAt(tasks.KeyPos, "tasks is empty: a plugin provides at least one task type")
	}
	for _, e := range entries {
		if t := d.task(p, e); t != nil {
			p.Tasks = append(p.Tasks, t)
		}
	}
	return p
}

// task decodes one entry of tasks.
func (d *manifestDecoder) task(p *Plugin, kv yamltree.Entry) *TaskType {
	name := kv.Key
	if p.Name != "" {
		short, ok := strings.CutPrefix(name, p.Name+".")
		if !ok || !validTypeSuffix(short) {
			d.errorAt(kv.KeyPos, "task type %q: name it %s.<task>, the plugin's name, a dot and letters, digits, _, - or dots (e.g. %s.%s)",
				name, p.Name, p.Name, suggestSuffix(name))
		}
	}
	t := &TaskType{TypeSpec: composition.TypeSpec{Name: name, Group: p.Name}, Plugin: p}
	where := "task " + name
	var commandKV *yamltree.Entry
	for _, e := range d.entries(kv.Val, where) {
		switch e.Key {
		case "description":
			t.Description = d.str(e.Val, where+": description")
		case "icon":
			t.Icon = d.str(e.Val, where+": icon")
		case "command":
			commandKV = &e
			t.Command = d.strList(e.Val, where+": command")
		case "exports":
			t.Exports = d.strList(e.Val, where+": exports")
			for i, x := range t.Exports {
				if !validName(x) {
					d.errorf(seqItem(e.Val, i), "%s: exports: %q is not a context key; use letters, digits, _, . and -, starting with a letter or _", where, x)
				}
			}
		case "fields":
			t.Fields = d.fields(e.Val, where)
		default:
			d.unknownKey(e, where, taskKeys)
		}
	}
	switch {
	case !isMapping(kv.Val):
		// entries reported it
	case commandKV == nil:
		d.errorAt(kv.KeyPos, "%s has no command: add command: [./%s.sh], a program relative to the plugin directory, and its arguments", where, suggestSuffix(name))
	case len(t.Command) == 0:
		d.errorf(commandKV.Val, "%s: command is empty: give the program to run and its arguments, e.g. [./%s.sh]", where, suggestSuffix(name))
	default:
		d.checkCommand(seqItem(commandKV.Val, 0), where, t.Command[0])
	}
	return t
}

// fields decodes a task's fields.
func (d *manifestDecoder) fields(n *yamltree.Node, task string) []composition.FieldSpec {
	var out []composition.FieldSpec
	envNames := map[string]string{} // BATON_FIELD_ variable -> field
	for _, kv := range d.entries(n, task+": fields") {
		name := kv.Key
		where := fmt.Sprintf("%s: field %s", task, name)
		if !validFieldName(name) {
			d.errorAt(kv.KeyPos, "%s: a field name holds letters, digits, _ and - only, starting with a letter or _", where)
		} else if other, taken := envNames[FieldEnvName(name)]; taken {
			d.errorAt(kv.KeyPos, "%s: fields %s and %s would both reach the command as %s; rename one", where, other, name, FieldEnvName(name))
		} else {
			envNames[FieldEnvName(name)] = name
		}
		f := composition.FieldSpec{Name: name}
		if s, ok := kv.Val.Value.(string); ok && kv.Val.Kind == yamltree.Scalar && slices.Contains(fieldTypes, composition.FieldType(s)) {
			d.errorf(kv.Val, "%s: write {type: %s}; a field is a mapping of type, required, default, enum and description", where, s)
			out = append(out, f)
			continue
		}
		if !isMapping(kv.Val) {
			d.entries(kv.Val, where)
			out = append(out, f)
			continue
		}
		var typeNode, defNode, enumNode *yamltree.Node
		for _, e := range d.entries(kv.Val, where) {
			switch e.Key {
			case "type":
				typeNode = e.Val
				f.Type = composition.FieldType(d.str(e.Val, where+": type"))
			case "required":
				f.Required = d.boolean(e.Val, where+": required")
			case "default":
				defNode = e.Val
				f.Default = d.value(e.Val, where+": default")
			case "enum":
				enumNode = e.Val
				f.Enum = d.list(e.Val, where+": enum")
			case "description":
				f.Description = d.str(e.Val, where+": description")
			default:
				d.unknownKey(e, where, fieldKeys)
			}
		}
		switch {
		case typeNode == nil:
			d.errorAt(kv.KeyPos, "%s has no type: add type: with one of %s", where, typeList())
		case !slices.Contains(fieldTypes, f.Type):
			d.errorf(typeNode, "%s: unknown type %q; use one of %s", where, f.Type, typeList())
		default:
			for i, v := range f.Enum {
				if msg := checkFieldValue(f.Type, v); msg != "" {
					d.errorf(seqItem(enumNode, i), "%s: enum: %s", where, msg)
				}
			}
			if f.Default != nil {
				if msg := checkFieldValue(f.Type, f.Default); msg != "" {
					d.errorf(defNode, "%s: default: %s", where, msg)
				} else if len(f.Enum) > 0 && !isExpression(f.Default) && !inEnum(f.Default, f.Enum) {
					d.errorf(defNode, "%s: default: %s is not one of the enum values", where, describe(f.Default))
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// checkCommand reports a command that cannot run: a missing or
// non-executable file in the plugin directory, or a program not in PATH.
func (d *manifestDecoder) checkCommand(n *yamltree.Node, where, prog string) {
	if !strings.ContainsRune(prog, '/') {
		if _, err := exec.LookPath(prog); err != nil {
			d.errorf(n, "%s: command %s is not a program in PATH; install it, or give a path relative to the plugin directory such as ./%s", where, prog, prog)
		}
		return
	}
	path := commandPath(d.dir, prog)
	info, err := os.Stat(path)
	switch {
	case err != nil:
		d.errorf(n, "%s: command %s: %s does not exist; the path is relative to the plugin directory", where, prog, path)
	case info.IsDir():
		d.errorf(n, "%s: command %s is a directory, not a program", where, prog)
	case info.Mode().Perm()&0o111 == 0:
		d.errorf(n, "%s: command %s is not executable; run chmod +x %s", where, prog, path)
	}
}

// unknownKey reports a key the manifest format does not have.
func (d *manifestDecoder) unknownKey(kv yamltree.Entry, where string, known []string) {
	d.errorAt(kv.KeyPos, "%s: unknown key %q; the keys here are %s", where, kv.Key, strings.Join(known, ", "))
}

// errorf records a problem at n's place.
func (d *manifestDecoder) errorf(n *yamltree.Node, format string, args ...any) {
	d.errorAt(n.Pos, format, args...)
}

// errorAt records a problem at pos.
func (d *manifestDecoder) errorAt(pos yamltree.Pos, format string, args ...any) {
	d.errs = append(d.errs, &ManifestError{File: d.file, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...)})
}

// validPluginName reports whether s can name a plugin.
func validPluginName(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r < 128 && (isLetter(byte(r)) || isDigit(byte(r)) || r == '_' || r == '-'))
	}) < 0
}

// validTypeSuffix reports whether s can follow "<plugin>." in a task type.
func validTypeSuffix(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r < 128 && (isLetter(byte(r)) || isDigit(byte(r)) || r == '_' || r == '-' || r == '.'))
	}) < 0
}

// validFieldName reports whether s can name a field.
func validFieldName(s string) bool {
	if s == "" || !(isLetter(s[0]) || s[0] == '_') {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r < 128 && (isLetter(byte(r)) || isDigit(byte(r)) || r == '_' || r == '-'))
	}) < 0
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// suggestSuffix proposes the part after the dot of a task type name.
func suggestSuffix(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	if validTypeSuffix(name) {
		return name
	}
	return "run"
}

func typeList() string {
	s := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
