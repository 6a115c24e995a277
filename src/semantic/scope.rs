//! Name resolution at file level: what each name in a file refers to, across imports.

use std::collections::BTreeMap;
use std::path::Path;

use super::anchor::{AnchorRef, SemanticDiagnostic};
use super::database::{item_hir, item_keys, Db, ItemId, SourceFile};
use super::hir::{ItemHir, ItemKind};
use super::suggest::{closest, did_you_mean};
use crate::diagnostics::codes;
use crate::stdlib;

/// A declaration somewhere in the workspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub file: SourceFile,
    pub key: String,
    pub kind: ItemKind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileScope {
    pub entries: BTreeMap<String, ItemRef>,
    /// Names listed in imports that failed (already reported): uses of them are not
    /// reported again as unknown.
    pub failed_imports: std::collections::BTreeSet<String>,
    pub diagnostics: Vec<SemanticDiagnostic>,
}

impl FileScope {
    pub fn names_of_kind(&self, kind: ItemKind) -> impl Iterator<Item = &str> + Clone {
        self.entries.iter().filter(move |(_, item)| item.kind == kind).map(|(name, _)| name.as_str())
    }
}

fn is_declaration(kind: ItemKind) -> bool {
    matches!(kind, ItemKind::Model | ItemKind::Dataset | ItemKind::Metric | ItemKind::Workflow)
}

pub fn build_scope(db: &dyn Db, file: SourceFile) -> FileScope {
    let mut scope = FileScope::default();
    let keys = item_keys(db, file);
    for (key, kind) in keys {
        if is_declaration(*kind) && !key.contains('#') {
            scope.entries.insert(key.clone(), ItemRef { file, key: key.clone(), kind: *kind });
        }
    }
    for (key, kind) in keys {
        if *kind != ItemKind::Import {
            continue;
        }
        let Some(hir) = item_hir(db, ItemId::new(db, file, key.clone())) else { continue };
        let ItemHir::Import(import) = &*hir else { continue };
        let at = |anchor| AnchorRef { file, item: key.clone(), anchor };
        let Some(target) = resolve_import_path(db, file, &import.path, at(import.path_anchor), &mut scope.diagnostics) else {
            scope.failed_imports.extend(import.names.iter().map(|name| name.text.clone()));
            continue;
        };
        if import.names.is_empty() {
            scope.diagnostics.push(
                SemanticDiagnostic::new(
                    &codes::INVALID_IMPORT_PATH,
                    format!("the import of \"{}\" names nothing", import.path),
                    at(import.path_anchor),
                    "nothing is imported from here",
                )
                .with_help(format!("list the names to import: `import \"{}\" {{ name }}`", import.path)),
            );
        }
        let exported: Vec<(&String, ItemKind)> = item_keys(db, target)
            .iter()
            .filter(|(key, kind)| is_declaration(*kind) && !key.contains('#'))
            .map(|(key, kind)| (key, *kind))
            .collect();
        for name in &import.names {
            match exported.iter().find(|(exported_name, _)| **exported_name == name.text) {
                Some((exported_name, kind)) => {
                    scope
                        .entries
                        .entry(name.text.clone())
                        .or_insert(ItemRef { file: target, key: (*exported_name).clone(), kind: *kind });
                }
                None => {
                    scope.failed_imports.insert(name.text.clone());
                    let mut diagnostic = SemanticDiagnostic::new(
                        &codes::IMPORTED_NAME_NOT_FOUND,
                        format!("\"{}\" declares no `{}`", import.path, name.text),
                        at(name.anchor),
                        "not declared in that module",
                    );
                    if let Some(help) = did_you_mean(&name.text, exported.iter().map(|(name, _)| name.as_str()), &format!("declarations of \"{}\"", import.path)) {
                        diagnostic = diagnostic.with_help(help);
                    }
                    scope.diagnostics.push(diagnostic);
                }
            }
        }
    }
    scope
}

fn resolve_import_path(
    db: &dyn Db,
    file: SourceFile,
    path: &str,
    location: AnchorRef,
    diagnostics: &mut Vec<SemanticDiagnostic>,
) -> Option<SourceFile> {
    if let Some(module) = path.strip_prefix("std/") {
        let found = stdlib::standard_module(module).and_then(|_| db.load_file(&stdlib::standard_module_path(module)));
        if found.is_none() {
            let mut diagnostic = SemanticDiagnostic::new(
                &codes::IMPORT_NOT_FOUND,
                format!("there is no standard module \"{path}\""),
                location,
                "not a standard module",
            );
            let modules = stdlib::STANDARD_MODULES.iter().map(|(name, _)| *name);
            let help = match closest(module, modules.clone()) {
                Some(best) => format!("did you mean \"std/{best}\"?"),
                None => format!(
                    "the standard modules are {}",
                    modules.map(|name| format!("\"std/{name}\"")).collect::<Vec<_>>().join(", ")
                ),
            };
            diagnostic = diagnostic.with_help(help);
            diagnostics.push(diagnostic);
        }
        return found;
    }
    let invalid = |message: String, help: &str| {
        SemanticDiagnostic::new(&codes::INVALID_IMPORT_PATH, message, location.clone(), "in this import path").with_help(help.to_string())
    };
    if path.is_empty() {
        diagnostics.push(invalid("the import path is empty".into(), "write a path such as \"./common.flow\" or \"std/metrics\""));
        return None;
    }
    if Path::new(path).is_absolute() || path.contains('\\') {
        diagnostics.push(invalid(
            format!("\"{path}\" is not a relative path"),
            "import files by a path relative to this file, with `/` separators, so the project works on every machine",
        ));
        return None;
    }
    if !path.ends_with(".flow") {
        diagnostics.push(invalid(
            format!("\"{path}\" does not name a .flow file"),
            "import paths end in `.flow`; standard modules are written \"std/NAME\"",
        ));
        return None;
    }
    let base = file.path(db).parent().unwrap_or(Path::new(""));
    let resolved = super::database::normalize_path(&base.join(path));
    if resolved == *file.path(db) {
        diagnostics.push(invalid(format!("\"{path}\" is this file itself"), "a file sees its own declarations without importing them"));
        return None;
    }
    let found = db.load_file(&resolved);
    if found.is_none() {
        diagnostics.push(
            SemanticDiagnostic::new(
                &codes::IMPORT_NOT_FOUND,
                format!("cannot find \"{path}\""),
                location,
                format!("looked for {}", resolved.display()),
            )
            .with_help("import paths are relative to the importing file"),
        );
    }
    found
}
