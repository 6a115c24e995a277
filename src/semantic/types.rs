//! The types of values that flow along the edges of a workflow.

use std::fmt;

use super::hir::{TypeHir, TypeKindHir};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Text,
    Number,
    Int,
    Bool,
    List(Box<Type>),
    Json(Vec<(String, Type)>),
    Enum(Vec<String>),
    /// A type that could not be resolved; compatible with everything so that one
    /// mistake is reported once.
    Error,
}

pub const TYPE_NAMES: [&str; 4] = ["text", "number", "int", "bool"];

impl Type {
    pub fn named(name: &str) -> Option<Type> {
        Some(match name {
            "text" => Type::Text,
            "number" => Type::Number,
            "int" => Type::Int,
            "bool" => Type::Bool,
            _ => return None,
        })
    }

    pub fn field(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Json(fields) => fields.iter().find(|(field, _)| field == name).map(|(_, ty)| ty),
            _ => None,
        }
    }

    /// Whether a value of type `self` may flow where `target` is expected.
    pub fn is_assignable_to(&self, target: &Type) -> bool {
        match (self, target) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::Int, Type::Number) => true,
            (Type::Enum(_), Type::Text) => true,
            (Type::Enum(source), Type::Enum(target)) => source.iter().all(|variant| target.contains(variant)),
            (Type::List(source), Type::List(target)) => source.is_assignable_to(target),
            (Type::Json(source), Type::Json(target)) => target.iter().all(|(name, target_type)| {
                source
                    .iter()
                    .find(|(field, _)| field == name)
                    .is_some_and(|(_, source_type)| source_type.is_assignable_to(target_type))
            }),
            (source, target) => source == target,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Text => write!(formatter, "text"),
            Type::Number => write!(formatter, "number"),
            Type::Int => write!(formatter, "int"),
            Type::Bool => write!(formatter, "bool"),
            Type::List(element) => write!(formatter, "[{element}]"),
            Type::Json(fields) => {
                write!(formatter, "json {{ ")?;
                for (index, (name, ty)) in fields.iter().enumerate() {
                    if index > 0 {
                        write!(formatter, ", ")?;
                    }
                    write!(formatter, "{name}: {ty}")?;
                }
                write!(formatter, " }}")
            }
            Type::Enum(variants) => {
                let quoted: Vec<String> = variants.iter().map(|variant| format!("{variant:?}")).collect();
                write!(formatter, "enum({})", quoted.join(", "))
            }
            Type::Error => write!(formatter, "{{unknown}}"),
        }
    }
}

/// Problems found while resolving a written type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeProblem {
    UnknownName { name: String, anchor: u32 },
    EmptyJson { anchor: u32 },
    EmptyEnum { anchor: u32 },
    DuplicateField { name: String, anchor: u32, first: u32 },
    DuplicateVariant { name: String, anchor: u32, first: u32 },
}

pub fn resolve_type(ty: &TypeHir, problems: &mut Vec<TypeProblem>) -> Type {
    match &ty.kind {
        TypeKindHir::Named(name) => Type::named(&name.text).unwrap_or_else(|| {
            problems.push(TypeProblem::UnknownName { name: name.text.clone(), anchor: name.anchor });
            Type::Error
        }),
        TypeKindHir::List(element) => Type::List(Box::new(resolve_type(element, problems))),
        TypeKindHir::Json(fields) => {
            if fields.is_empty() {
                problems.push(TypeProblem::EmptyJson { anchor: ty.anchor });
            }
            let mut resolved: Vec<(String, Type)> = Vec::new();
            let mut anchors: Vec<u32> = Vec::new();
            for (name, field_type) in fields {
                let field_type = resolve_type(field_type, problems);
                if let Some(index) = resolved.iter().position(|(known, _)| *known == name.text) {
                    problems.push(TypeProblem::DuplicateField { name: name.text.clone(), anchor: name.anchor, first: anchors[index] });
                    continue;
                }
                resolved.push((name.text.clone(), field_type));
                anchors.push(name.anchor);
            }
            Type::Json(resolved)
        }
        TypeKindHir::Enum(variants) => {
            if variants.is_empty() {
                problems.push(TypeProblem::EmptyEnum { anchor: ty.anchor });
            }
            let mut resolved: Vec<String> = Vec::new();
            let mut anchors: Vec<u32> = Vec::new();
            for variant in variants {
                if let Some(index) = resolved.iter().position(|known| *known == variant.text) {
                    problems.push(TypeProblem::DuplicateVariant { name: variant.text.clone(), anchor: variant.anchor, first: anchors[index] });
                    continue;
                }
                resolved.push(variant.text.clone());
                anchors.push(variant.anchor);
            }
            Type::Enum(resolved)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignability_widens_but_never_narrows() {
        assert!(Type::Int.is_assignable_to(&Type::Number));
        assert!(!Type::Number.is_assignable_to(&Type::Int));
        assert!(Type::Enum(vec!["a".into()]).is_assignable_to(&Type::Text));
        assert!(!Type::Text.is_assignable_to(&Type::Number));
        let wide = Type::Json(vec![("a".into(), Type::Int), ("b".into(), Type::Text)]);
        let narrow = Type::Json(vec![("a".into(), Type::Number)]);
        assert!(wide.is_assignable_to(&narrow));
        assert!(!narrow.is_assignable_to(&wide));
        assert!(Type::List(Box::new(Type::Int)).is_assignable_to(&Type::List(Box::new(Type::Number))));
    }
}
