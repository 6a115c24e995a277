//! `GET /`: the plan page. One self-contained HTML document (no CDN, no framework):
//! per workflow the DAG as SVG (drawn by the server, the picture `flowc graph
//! --format svg` writes), each node's compiled artefact with the move and critique
//! that produced it, the build's training figures and PAC bound, and a form that
//! runs one input through `POST /v1/workflows/{name}:run?trace=true` and shows the
//! outputs and the per-node trace. Rendered once at start: a plan is immutable.

use std::fmt::Write as _;

use super::input_validation::InputSignature;
use crate::diagram::from_plan::diagram_of_locked_workflow;
use crate::diagram::svg::diagram_to_inline_svg;
use crate::plan::lock_file::{LockFile, LockedBuild, LockedNode, LockedWorkflow};
use crate::semantic::types::Type;

const STYLE: &str = include_str!("plan_page.css");
const SCRIPT: &str = include_str!("plan_page.js");

pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

pub fn render_plan_page(lock: &LockFile, plan_fingerprint: &str, signatures: &[InputSignature]) -> String {
    let mut page = String::new();
    let title = format!("flowc serve · {}", lock.source);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape_html(&title)
    );
    let _ = write!(
        page,
        "<header><div class=\"wrap\"><h1>{}</h1><p class=\"sub\">Compiled plan served by <code>flowc serve</code> · plan <code title=\"sha256 of the plan file\">{}</code> · flowc {}</p></div></header>\n<main class=\"wrap\">\n",
        escape_html(&lock.source),
        escape_html(&plan_fingerprint[..16.min(plan_fingerprint.len())]),
        escape_html(&lock.flowc_version)
    );
    if lock.workflows.len() > 1 {
        page.push_str("<nav class=\"toc\">Workflows: ");
        for workflow in &lock.workflows {
            let _ = write!(page, "<a href=\"#workflow-{0}\">{0}</a> ", escape_html(&workflow.name));
        }
        page.push_str("</nav>\n");
    }
    for (workflow, signature) in lock.workflows.iter().zip(signatures) {
        workflow_section(&mut page, lock, workflow, signature);
    }
    models_section(&mut page, lock);
    let _ = write!(page, "</main>\n<footer class=\"wrap\">API: <code>GET /v1/plan</code> · <code>GET /metrics</code> · <code>GET /healthz</code> · <code>GET /readyz</code></footer>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

fn workflow_section(page: &mut String, lock: &LockFile, workflow: &LockedWorkflow, signature: &InputSignature) {
    let name = escape_html(&workflow.name);
    let signature_text = format!(
        "{}({}) → ({})",
        workflow.name,
        workflow.inputs.iter().map(|port| format!("{}: {}", port.name, port.ty)).collect::<Vec<_>>().join(", "),
        workflow.outputs.iter().map(|port| format!("{}: {}", port.name, port.ty)).collect::<Vec<_>>().join(", ")
    );
    let model_calls = workflow.nodes.iter().filter(|node| node.kind != "code").count();
    let _ = write!(
        page,
        "<section class=\"workflow\" id=\"workflow-{name}\">\n<h2>workflow <code>{}</code></h2>\n<p class=\"meta\">{} nodes · {} · fingerprint <code>{}</code></p>\n",
        escape_html(&signature_text),
        workflow.nodes.len(),
        if model_calls == 0 { "calls no model at run time".to_string() } else { format!("{model_calls} node(s) call a model") },
        escape_html(&workflow.fingerprint[..16.min(workflow.fingerprint.len())])
    );
    let _ = write!(
        page,
        "<div class=\"card graph\"><h3>Graph</h3>\n<div class=\"legend\"><span class=\"k input\">input</span><span class=\"k llm\">llm</span><span class=\"k code\">code</span><span class=\"k consensus\">consensus</span><span class=\"k output\">output</span></div>\n<div class=\"svg\" id=\"graph-{name}\">{}</div></div>\n",
        diagram_to_inline_svg(&diagram_of_locked_workflow(workflow))
    );
    run_form(page, workflow, signature);
    build_card(page, workflow.build.as_ref());
    page.push_str("<h3 class=\"nodes-title\">Nodes, as compiled</h3>\n");
    for node in &workflow.nodes {
        node_card(page, lock, node);
    }
    page.push_str("</section>\n");
}

fn run_form(page: &mut String, workflow: &LockedWorkflow, signature: &InputSignature) {
    let name = escape_html(&workflow.name);
    let _ = write!(page, "<div class=\"card try\"><h3>Run one input</h3>\n<form class=\"run-form\" id=\"run-form-{name}\" data-workflow=\"{name}\">\n");
    for (port, ty) in &signature.ports {
        let id = format!("input-{}-{}", workflow.name, port);
        let (kind, field) = match ty {
            Type::Text | Type::Enum(_) => ("text", format!("<textarea id=\"{0}\" name=\"{1}\" rows=\"3\" required></textarea>", escape_html(&id), escape_html(port))),
            Type::Number => ("number", format!("<input id=\"{0}\" name=\"{1}\" type=\"number\" step=\"any\" required>", escape_html(&id), escape_html(port))),
            Type::Int => ("int", format!("<input id=\"{0}\" name=\"{1}\" type=\"number\" step=\"1\" required>", escape_html(&id), escape_html(port))),
            Type::Bool => ("bool", format!("<input id=\"{0}\" name=\"{1}\" type=\"checkbox\">", escape_html(&id), escape_html(port))),
            _ => ("json", format!("<textarea id=\"{0}\" name=\"{1}\" rows=\"3\" placeholder=\"JSON\" required></textarea>", escape_html(&id), escape_html(port))),
        };
        let _ = write!(
            page,
            "<label for=\"{}\"><span class=\"port\">{}</span> <span class=\"type\">{}</span></label>\n<div class=\"field\" data-port=\"{}\" data-kind=\"{kind}\">{field}</div>\n",
            escape_html(&id),
            escape_html(port),
            escape_html(&ty.to_string()),
            escape_html(port)
        );
    }
    let _ = write!(
        page,
        "<button type=\"submit\" id=\"run-{name}\">Run</button> <span class=\"status\" id=\"status-{name}\"></span>\n</form>\n<div class=\"result\" id=\"result-{name}\" hidden></div>\n</div>\n"
    );
}

fn build_card(page: &mut String, build: Option<&LockedBuild>) {
    page.push_str("<div class=\"card build\"><h3>Build</h3>\n");
    let Some(build) = build else {
        page.push_str("<p>Written by <code>flowc lock</code>: the workflow as written, not optimised by <code>flowc build</code>.</p></div>\n");
        return;
    };
    let pac = &build.pac;
    let bound = if pac.vacuous { format!("ε = {:.3} (vacuous: above 1)", pac.epsilon) } else { format!("ε = {:.3}", pac.epsilon) };
    let mut rows = vec![
        ("training examples passed", format!("{} → {} of {} ({})", build.train_passed_before, build.train_passed_after, build.train_examples, escape_html(&build.metric))),
        ("PAC bound", format!("{bound}, δ = {}, {}", pac.delta, escape_html(&pac.kind))),
        ("hypotheses tried (k)", build.hypotheses_tried.to_string()),
        ("iterations", build.iterations.to_string()),
        ("teacher", format!("{} · {} calls · {} tokens", escape_html(&build.teacher), build.teacher_calls, build.teacher_tokens)),
        ("stopped", escape_html(&build.stopped)),
    ];
    if let (Some(target), Some(examples)) = (pac.target_epsilon, pac.examples_for_target) {
        rows.push(("examples for ε ≤ target", format!("{examples} (target ε = {target})")));
    }
    if let (Some(examples), Some(passed)) = (build.validation_examples, build.validation_passed) {
        rows.push(("validation set", format!("{passed} of {examples} passed")));
    }
    page.push_str("<table class=\"figures\">\n");
    for (label, value) in rows {
        let _ = writeln!(page, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    page.push_str("</table></div>\n");
}

fn node_card(page: &mut String, lock: &LockFile, node: &LockedNode) {
    let kind_class = match node.kind.as_str() {
        "llm" | "code" | "consensus" => node.kind.as_str(),
        "likelihood_choice" => "llm",
        _ => "code",
    };
    let model = node.model.as_deref().map(|model| format!("({})", escape_html(model))).unwrap_or_default();
    let _ = write!(
        page,
        "<details class=\"card node\" id=\"node-{0}\" open><summary><span class=\"k {kind_class}\">{1}{model}</span> <code class=\"name\">{0}</code> → <code>{2}</code> <span class=\"origin\">{3}</span></summary>\n",
        escape_html(&node.name),
        escape_html(node.kind.as_str()),
        escape_html(&node.output_type),
        escape_html(&origin_text(node))
    );
    let provenance = &node.provenance;
    if let Some(critique) = &provenance.critique {
        let _ = write!(page, "<p class=\"critique\"><b>Why:</b> {}</p>\n", escape_html(critique));
    }
    if let Some(score) = &provenance.node_score {
        let _ = write!(page, "<p class=\"score\"><b>Node score on its gold outputs:</b> {}</p>\n", escape_html(score));
    }
    if let Some(inserted_for) = &provenance.inserted_for {
        let _ = write!(page, "<p><b>Inserted before</b> <code>{}</code></p>\n", escape_html(inserted_for));
    }
    if !node.reads.is_empty() {
        let _ = write!(page, "<p class=\"reads\"><b>Reads:</b> {}</p>\n", node.reads.iter().map(|read| format!("<code>{}</code>", escape_html(read))).collect::<Vec<_>>().join(", "));
    }
    if let Some(system) = &node.system {
        artefact(page, "System prompt", system);
    }
    if let Some(prompt) = &node.prompt {
        artefact(page, "Prompt template", prompt);
    }
    if !node.code_inputs.is_empty() {
        let inputs = node.code_inputs.iter().map(|(argument, path)| format!("{argument} = {path}")).collect::<Vec<_>>().join("\n");
        artefact(page, "Code inputs", &inputs);
    }
    if let Some(code) = &node.code {
        artefact(page, "Code (sandboxed)", code);
    }
    if let Some(likelihood) = &node.likelihood {
        let mut text = format!("reply read: {}\n", likelihood.reply);
        for class in &likelihood.classes {
            text.push_str(&format!("\n[{}]\nsystem: {}\nuser: {}\n", class.class, class.system, class.prompt));
        }
        artefact(page, "Class prompts (the most likely reply wins)", &text);
    }
    if let Some(consensus) = &node.consensus {
        let text = format!(
            "samples = {}\nvote = {}\nseeds = {} … {}\ntemperature = {}",
            consensus.samples,
            consensus.vote,
            consensus.first_seed,
            consensus.first_seed + u64::from(consensus.samples.saturating_sub(1)),
            consensus.temperature
        );
        artefact(page, "Consensus", &text);
    }
    if let Some(decoding) = node.decoding.as_ref().or_else(|| node.model.as_deref().and_then(|model| lock.models.get(model)).map(|model| &model.decoding)) {
        let text = toml::to_string(decoding).unwrap_or_default();
        if !text.trim().is_empty() {
            artefact(page, "Decoding", text.trim_end());
        }
    }
    page.push_str("</details>\n");
}

fn origin_text(node: &LockedNode) -> String {
    let provenance = &node.provenance;
    let origin = match provenance.origin.as_str() {
        "as-written" => "as written".to_string(),
        other => format!("move: {other}"),
    };
    match provenance.step {
        Some(step) => format!("{origin} (step {step})"),
        None => origin,
    }
}

fn artefact(page: &mut String, title: &str, text: &str) {
    let _ = write!(page, "<div class=\"artefact\"><div class=\"artefact-title\">{}</div><pre>{}</pre></div>\n", escape_html(title), escape_html(text));
}

fn models_section(page: &mut String, lock: &LockFile) {
    let used: std::collections::BTreeSet<&str> = lock.workflows.iter().flat_map(|workflow| workflow.nodes.iter()).filter_map(|node| node.model.as_deref()).collect();
    page.push_str("<section class=\"models\"><h2>Models</h2>\n<table class=\"figures\">\n<tr><th>name</th><th>backend</th><th>model</th><th>identity</th><th>used at run time</th></tr>\n");
    for (name, model) in &lock.models {
        let identity = match (&model.file_sha256, &model.base_url) {
            (Some(digest), _) => format!("sha256 <code>{}</code>", escape_html(&digest[..16.min(digest.len())])),
            (None, Some(url)) => format!("<code>{}</code>", escape_html(url)),
            (None, None) => String::new(),
        };
        let engine = model.engine.as_deref().map(|engine| format!(" ({})", escape_html(engine))).unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{}{engine}</td><td>{}</td><td>{identity}</td><td>{}</td></tr>",
            escape_html(name),
            escape_html(&model.backend),
            escape_html(&model.model),
            if used.contains(name.as_str()) { "yes" } else { "no" }
        );
    }
    page.push_str("</table></section>\n");
}
