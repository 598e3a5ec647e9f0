// Tag queries of our own, per language (capture names: see tags.ts). Where a grammar package ships a
// queries/tags.scm that works, languages.ts appends it after these: ours add imports, constructors,
// receivers and the like, and take precedence for a node both capture.

const javascriptImports = `
(import_statement (import_clause (identifier) @import.name) source: (string (string_fragment) @import.module)) @import
(import_statement (import_clause (namespace_import (identifier) @import.name)) source: (string (string_fragment) @import.module)) @import
(import_statement (import_clause (named_imports (import_specifier name: (_) @import.name))) source: (string (string_fragment) @import.module)) @import
(import_statement source: (string (string_fragment) @import.module)) @import
(export_statement (export_clause (export_specifier name: (_) @import.name)) source: (string (string_fragment) @import.module)) @import
(export_statement source: (string (string_fragment) @import.module)) @import
(variable_declarator name: (identifier) @import.name
  value: (call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @import.module))) @import
  (#eq? @_require "require"))
(call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @import.module)) (#eq? @_require "require")) @import
(call_expression function: (import) arguments: (arguments . (string (string_fragment) @import.module))) @import
`;

const javascript = `
(method_definition name: (property_identifier) @name) @definition.method
${javascriptImports}`;

const typescript = `
(method_definition name: (property_identifier) @name) @definition.method
(class_declaration name: (type_identifier) @name) @definition.class
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.module
(call_expression function: (member_expression property: (property_identifier) @name)) @reference.call
${javascriptImports}`;

const python = `
(import_statement name: (dotted_name) @import.module) @import
(import_statement name: (aliased_import name: (dotted_name) @import.module)) @import
(import_from_statement module_name: (_) @import.module name: (dotted_name) @import.name) @import
(import_from_statement module_name: (_) @import.module name: (aliased_import name: (dotted_name) @import.name)) @import
(import_from_statement module_name: (_) @import.module (wildcard_import) @import.name) @import
`;

const go = `
(method_declaration
  receiver: (parameter_list (parameter_declaration type: [
    (type_identifier) @scope
    (pointer_type (type_identifier) @scope)
    (generic_type type: (type_identifier) @scope)
    (pointer_type (generic_type type: (type_identifier) @scope))]))
  name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(import_spec path: (_) @import.module) @import
`;

const java = `
(constructor_declaration name: (identifier) @name) @definition.method
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(annotation_type_declaration name: (identifier) @name) @definition.interface
(import_declaration (scoped_identifier scope: (_) @import.module name: (identifier) @import.name)) @import
(import_declaration (scoped_identifier) @import.module (asterisk) @import.name) @import
`;

const cFunctions = `
(function_definition declarator: [
  (function_declarator declarator: (identifier) @name)
  (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
  (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
]) @definition.function
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro
(preproc_def name: (identifier) @name) @definition.constant
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(preproc_include path: (_) @import.module) @import
`;

const c = cFunctions;

const cpp = `
(function_definition declarator: [
  (function_declarator declarator: (qualified_identifier scope: (_) @scope name: (_) @name))
  (pointer_declarator declarator: (function_declarator declarator: (qualified_identifier scope: (_) @scope name: (_) @name)))
  (reference_declarator (function_declarator declarator: (qualified_identifier scope: (_) @scope name: (_) @name)))
]) @definition.method
(function_definition declarator: [
  (function_declarator declarator: (field_identifier) @name)
  (function_declarator declarator: (operator_name) @name)
  (function_declarator declarator: (destructor_name) @name)
  (reference_declarator (function_declarator declarator: [(identifier) (field_identifier)] @name))
]) @definition.function
(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(namespace_definition name: (_) @name) @definition.module
(call_expression function: (qualified_identifier name: (identifier) @name)) @reference.call
(call_expression function: (template_function name: (identifier) @name)) @reference.call
(new_expression type: (type_identifier) @name) @reference.class
${cFunctions}`;

const ruby = `
(call method: (identifier) @_method arguments: (argument_list . (string (string_content) @import.module))
  (#any-of? @_method "require" "require_relative" "load" "autoload")) @import
`;

const rust = `
(impl_item type: [
  (type_identifier) @name
  (generic_type type: (type_identifier) @name)
  (scoped_type_identifier name: (type_identifier) @name)]) @definition.impl
(function_signature_item name: (identifier) @name) @definition.method
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(use_declaration argument: (identifier) @import.module) @import
(use_declaration argument: (scoped_identifier path: (_) @import.module name: (identifier) @import.name)) @import
(use_declaration argument: (use_as_clause path: (scoped_identifier path: (_) @import.module name: (identifier) @import.name))) @import
(use_declaration argument: (scoped_use_list path: (_) @import.module list: (use_list (_) @import.name))) @import
(use_declaration argument: (use_wildcard (_) @import.module "*" @import.name)) @import
(extern_crate_declaration name: (identifier) @import.module) @import
(mod_item name: (identifier) @import.module !body) @import
`;

const elixirKeywords = `"def" "defp" "defmacro" "defmacrop" "defguard" "defguardp" "defdelegate" "defn" "defnp"
  "defmodule" "defprotocol" "defimpl" "defstruct" "defexception" "defoverridable"
  "alias" "import" "require" "use" "case" "cond" "if" "unless" "for" "with" "try" "receive" "quote" "unquote"
  "raise" "reraise" "throw" "super" "fn"`;

const elixir = `
(call target: (identifier) @_keyword (arguments . (alias) @name) (#any-of? @_keyword "defmodule")) @definition.module
(call target: (identifier) @_keyword (arguments . (alias) @name) (#any-of? @_keyword "defprotocol")) @definition.interface
(call target: (identifier) @_keyword (arguments . (alias) @name) (#any-of? @_keyword "defimpl")) @definition.impl
(call target: (identifier) @_keyword
  (arguments . [
    (identifier) @name
    (call target: (identifier) @name)
    (binary_operator left: (call target: (identifier) @name) operator: "when")])
  (#any-of? @_keyword "def" "defp" "defdelegate" "defguard" "defguardp" "defn" "defnp")) @definition.function
(call target: (identifier) @_keyword
  (arguments . [
    (identifier) @name
    (call target: (identifier) @name)
    (binary_operator left: (call target: (identifier) @name) operator: "when")])
  (#any-of? @_keyword "defmacro" "defmacrop")) @definition.macro
(call target: (identifier) @_keyword (arguments . (alias) @import.module) (#any-of? @_keyword "alias" "import" "require" "use")) @import
(unary_operator operator: "@" operand: (call target: (identifier) @ignore))
(call target: (identifier) @name (#not-any-of? @name ${elixirKeywords})) @reference.call
(call target: (dot right: (identifier) @name)) @reference.call
(binary_operator operator: "|>" right: (identifier) @name) @reference.call
(unary_operator operator: "&" operand: (binary_operator left: (call target: (dot right: (identifier) @name)) operator: "/")) @reference.call
(unary_operator operator: "&" operand: (binary_operator left: (identifier) @name operator: "/")) @reference.call
`;

const csharp = `
(constructor_declaration name: (identifier) @name) @definition.method
(struct_declaration name: (identifier) @name) @definition.struct
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(file_scoped_namespace_declaration name: (_) @name) @definition.module
(namespace_declaration name: (qualified_name) @name) @definition.module
(invocation_expression function: (identifier) @name) @reference.call
(using_directive [(identifier) (qualified_name)] @import.module) @import
`;

const php = `
(method_declaration name: (name) @name) @definition.method
(namespace_use_declaration (namespace_use_clause [(name) (qualified_name)] @import.module)) @import
(include_expression (string (string_content) @import.module)) @import
(include_once_expression (string (string_content) @import.module)) @import
(require_expression (string (string_content) @import.module)) @import
(require_once_expression (string (string_content) @import.module)) @import
`;

const kotlin = `
(class_declaration name: (identifier) @name) @definition.class
(object_declaration name: (identifier) @name) @definition.object
(function_declaration name: (identifier) @name) @definition.function
(call_expression (identifier) @name) @reference.call
(call_expression (navigation_expression (identifier) @name .)) @reference.call
(import (qualified_identifier) @import.module) @import
(import (qualified_identifier) @import.module "*" @import.name) @import
`;

const swift = `
(class_declaration "class" name: (type_identifier) @name) @definition.class
(class_declaration "struct" name: (type_identifier) @name) @definition.struct
(class_declaration "enum" name: (type_identifier) @name) @definition.enum
(class_declaration "extension" name: (user_type (type_identifier) @name)) @definition.extension
(protocol_declaration name: (type_identifier) @name) @definition.protocol
(function_declaration name: (simple_identifier) @name) @definition.function
(init_declaration "init" @name) @definition.method
(call_expression (simple_identifier) @name) @reference.call
(call_expression (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @name))) @reference.call
(import_declaration (identifier) @import.module) @import
`;

const scala = `
(import_declaration . (identifier) @import.module .) @import
(import_declaration . (identifier) @import.module (identifier) @import.module_end .) @import
(import_declaration . (identifier) @import.module (identifier) @import.module_end . (namespace_selectors (identifier) @import.name)) @import
(import_declaration . (identifier) @import.module (identifier) @import.module_end . (namespace_wildcard) @import.name) @import
`;

const lua = `
(function_call name: (identifier) @_require arguments: (arguments . (string content: (string_content) @import.module)) (#eq? @_require "require")) @import
`;

const bash = `
(function_definition name: (word) @name) @definition.function
(command name: (command_name (word) @name) (#not-any-of? @name "source" ".")) @reference.call
(command name: (command_name (word) @_source) argument: (_) @import.module (#any-of? @_source "source" ".")) @import
`;

const haskell = `
(function name: (variable) @name) @definition.function
(bind name: (variable) @name) @definition.function
(data_type name: (name) @name) @definition.type
(newtype name: (name) @name) @definition.type
(type_synomym name: (name) @name) @definition.type
(class name: (name) @name) @definition.interface
(instance name: (name) @name) @definition.impl
(apply function: (variable) @name) @reference.call
(import module: (module) @import.module) @import
`;

const ocaml = `
(infix_expression operator: (_) @ignore)
(value_specification (value_name) @name) @definition.function
(open_module module: (_) @import.module) @import
`;

const zig = `
(function_declaration name: (identifier) @name) @definition.function
(variable_declaration (identifier) @name (struct_declaration)) @definition.struct
(variable_declaration (identifier) @name (enum_declaration)) @definition.enum
(variable_declaration (identifier) @name (union_declaration)) @definition.struct
(test_declaration (string (string_content) @name)) @definition.function
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression member: (identifier) @name)) @reference.call
(builtin_function (builtin_identifier) @_import (arguments (string (string_content) @import.module)) (#eq? @_import "@import")) @import
`;

const dart = `
(class_definition name: (identifier) @name) @definition.class
(mixin_declaration (identifier) @name) @definition.class
(extension_declaration name: (identifier) @name) @definition.extension
(enum_declaration name: (identifier) @name) @definition.enum
((method_signature [(function_signature name: (identifier) @name) (getter_signature name: (identifier) @name) (setter_signature name: (identifier) @name)]) @definition.method
  . (function_body) @definition.end)
((function_signature name: (identifier) @name) @definition.function . (function_body) @definition.end)
(method_signature [(function_signature name: (identifier) @name) (getter_signature name: (identifier) @name) (setter_signature name: (identifier) @name)]) @definition.method
(function_signature name: (identifier) @name) @definition.function
((identifier) @name @reference.call . (selector (argument_part)))
((selector (unconditional_assignable_selector (identifier) @name @reference.call)) . (selector (argument_part)))
(import_or_export (library_import (import_specification (configurable_uri (uri (string_literal) @import.module)) (combinator (identifier) @import.name)))) @import
(import_or_export (library_import (import_specification (configurable_uri (uri (string_literal) @import.module))))) @import
`;

const julia = `
(function_definition (signature (call_expression . (identifier) @name))) @definition.function
(assignment . (call_expression . (identifier) @name)) @definition.function
(macro_definition (signature (call_expression . (identifier) @name))) @definition.macro
(struct_definition (type_head (identifier) @name)) @definition.struct
(struct_definition (type_head (binary_expression . (identifier) @name))) @definition.struct
(module_definition name: (identifier) @name) @definition.module
(call_expression . (identifier) @name) @reference.call
(import_statement (identifier) @import.module) @import
(import_statement (selected_import . (identifier) @import.module (identifier) @import.name)) @import
(using_statement (identifier) @import.module) @import
`;

const objc = `
(class_interface . (identifier) @name) @definition.interface
(class_implementation . (identifier) @name) @definition.class
(protocol_declaration . (identifier) @name) @definition.protocol
(method_definition (identifier) @name) @definition.method
(method_declaration (identifier) @name) @definition.method
(message_expression method: (identifier) @name) @reference.call
${cFunctions}`;

const solidity = `
(contract_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(library_declaration name: (identifier) @name) @definition.module
(struct_declaration name: (identifier) @name) @definition.struct
(enum_declaration name: (identifier) @name) @definition.enum
(function_definition name: (identifier) @name) @definition.function
(modifier_definition name: (identifier) @name) @definition.function
(event_definition name: (identifier) @name) @definition.type
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression property: (identifier) @name)) @reference.call
(import_directive source: (string) @import.module) @import
`;

const powershell = `
(function_statement (function_name) @name) @definition.function
(class_statement (simple_name) @name) @definition.class
(class_method_definition (simple_name) @name) @definition.method
(command command_name: (command_name) @name (#not-any-of? @name "Import-Module" "import-module")) @reference.call
(command command_name: (command_name) @_import command_elements: (command_elements (generic_token) @import.module)
  (#any-of? @_import "Import-Module" "import-module")) @import
`;

const html = `
(script_element (start_tag (attribute (attribute_name) @_attribute (quoted_attribute_value (attribute_value) @import.module)) (#eq? @_attribute "src"))) @import
(element (start_tag (attribute (attribute_name) @_attribute (quoted_attribute_value (attribute_value) @import.module)) (#any-of? @_attribute "src" "href"))) @import
`;

const css = `
(rule_set (selectors) @name) @definition.rule
(media_statement . (_) @name) @definition.rule
(keyframes_statement (keyframes_name) @name) @definition.rule
(import_statement (string_value) @import.module) @import
`;

const json = `
(document (object (pair key: (string (string_content) @name)) @definition.key))
`;

const yaml = `
(stream (document (block_node (block_mapping (block_mapping_pair key: (flow_node) @name) @definition.key))))
`;

const toml = `
(table [(bare_key) (dotted_key) (quoted_key)] @name) @definition.table
(table_array_element [(bare_key) (dotted_key) (quoted_key)] @name) @definition.table
`;

const hcl = `
(config_file (body (block (identifier) @name . (block_start)) @definition.block))
(config_file (body (block (identifier) @name (string_lit) @name.end . (block_start)) @definition.block))
(function_call (identifier) @name) @reference.call
`;

const make = `
(rule (targets) @name) @definition.rule
(define_directive name: (word) @name) @definition.macro
(include_directive filenames: (list) @import.module) @import
`;

export const TAG_QUERIES = {
  javascript, typescript, python, go, java, c, cpp, ruby, rust, elixir, csharp, php, kotlin, swift, scala, lua,
  bash, haskell, ocaml, zig, dart, julia, objc, solidity, powershell, html, css, json, yaml, toml, hcl, make,
} as const;
