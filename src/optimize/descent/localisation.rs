//! Failure localisation: which node to descend next.

use super::*;

impl Engine {
    /// The node to descend next: on the first failing example, the first node
    /// whose output differs from its gold value; the teacher decides when the gold
    /// trace cannot.
    pub(super) async fn localise(&mut self) -> Result<String, TeacherError> {
        self.ensure_gold().await?;
        let validation = self.validation.as_ref().expect("validated");
        let gold = self.gold.as_ref().expect("gold");
        let Some(failing) = validation.passed.iter().position(|passed| !passed) else {
            return Ok(self.plan.order.last().cloned().unwrap_or_default());
        };
        let trace = &validation.traces[failing];
        for name in &self.request.as_written.order {
            let Some(gold_value) = gold[failing].get(name) else { continue };
            let output = trace.nodes.iter().find(|node| node.node == *name).and_then(|node| node.output.as_ref());
            let intermediate = self.output_name(name).is_none();
            let matched = output.is_some_and(|output| if intermediate { value_covers(gold_value, output) } else { values_match(gold_value, output) });
            if !matched {
                let produced = output.map(pretty).or_else(|| trace.nodes.iter().find(|node| node.node == *name).and_then(|node| node.error.clone())).unwrap_or_else(|| "nothing (it did not run)".into());
                self.diagnoses.insert(name.clone(), format!("on training example {} it produced {produced} where {} was expected", failing + 1, pretty(gold_value)));
                return Ok(name.clone());
            }
        }
        let names: Vec<String> = self.request.as_written.order.clone();
        let trace_text = trace
            .nodes
            .iter()
            .map(|node| format!("- {} read {} and produced {}", node.node, pretty(&Value::Object(node.inputs.clone())), node.output.as_ref().map(pretty).unwrap_or_else(|| node.error.clone().unwrap_or_default())))
            .collect::<Vec<_>>()
            .join("\n");
        let prompt = render_prompt(
            LOCALISE_FAILURE_PROMPT,
            &[("trace", &trace_text), ("expected", &pretty(&Value::Object(self.request.examples[failing].expected.clone()))), ("nodes", &pretty(&json!(names)))],
        );
        let schema = json!({"type": "object", "properties": {"node": {"enum": names}, "critique": {"type": "string"}}, "required": ["node", "critique"]});
        let teacher = self.teacher().await?;
        let reply = teacher.ask("localise the failing node", vec![user(prompt)], OutputConstraint::JsonSchema { schema }, 0).await?;
        let object = json_object_in(&reply);
        let named = object.as_ref().and_then(|object| object.get("node").and_then(Value::as_str).map(str::to_string));
        let node = named.filter(|node| names.contains(node)).unwrap_or_else(|| names.last().cloned().unwrap_or_default());
        // The localisation's critique is the gradient for the node it names: the
        // move that descends it reads it.
        if let Some(critique) = object.as_ref().and_then(|object| object.get("critique")).and_then(Value::as_str).filter(|critique| !critique.trim().is_empty()) {
            self.diagnoses.insert(node.clone(), critique.trim().to_string());
        }
        Ok(node)
    }
}
