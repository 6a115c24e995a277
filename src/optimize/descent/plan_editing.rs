//! Editing the plan under descent: the waves of nodes, reusing locked nodes, putting a
//! candidate's nodes in place of a node, and the fingerprints that key what follows.

use super::*;

impl Engine {
    /// The declared nodes in waves: each wave reads only inputs and earlier waves.
    pub(super) fn waves(&self) -> Vec<Vec<String>> {
        let mut wave_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut waves: Vec<Vec<String>> = Vec::new();
        for name in &self.request.as_written.order {
            let node = self.request.as_written.nodes.iter().find(|node| node.name == *name).expect("order lists nodes");
            let wave = node.reads.iter().filter_map(|read| wave_of.get(read)).map(|wave| wave + 1).max().unwrap_or(0);
            wave_of.insert(name.clone(), wave);
            if waves.len() <= wave {
                waves.resize(wave + 1, Vec::new());
            }
            waves[wave].push(name.clone());
        }
        waves
    }

    /// The locked nodes (inserted ones first) for `name` when its key by artefact
    /// or its key by value matches the lock's.
    pub(super) fn reusable(&self, name: &str, key: &str, by_value: Option<&str>) -> Option<Vec<LockedNode>> {
        let previous = self.request.previous.as_ref()?;
        let node = previous.nodes.iter().find(|node| {
            node.name == name && (node.provenance.build_key.as_deref() == Some(key) || by_value.is_some_and(|by_value| node.provenance.value_key.as_deref() == Some(by_value)))
        })?;
        let mut nodes: Vec<LockedNode> = previous.nodes.iter().filter(|inserted| inserted.provenance.inserted_for.as_deref() == Some(name)).cloned().collect();
        nodes.push(node.clone());
        Some(nodes)
    }

    /// Puts `nodes` (inserted ones, then the node) in the plan in place of `name`.
    pub(super) fn replace_node(&mut self, name: &str, nodes: Vec<LockedNode>) {
        self.plan.nodes.retain(|node| node.name != name && node.provenance.inserted_for.as_deref() != Some(name));
        // Rebuild order and nodes together: declared order, each node preceded by
        // the nodes inserted for it.
        let mut by_name: BTreeMap<String, LockedNode> = self.plan.nodes.drain(..).map(|node| (node.name.clone(), node)).collect();
        for node in nodes {
            by_name.insert(node.name.clone(), node);
        }
        let mut ordered = Vec::new();
        let mut order = Vec::new();
        for declared in &self.request.as_written.order {
            let inserted: Vec<String> = by_name.values().filter(|node| node.provenance.inserted_for.as_deref() == Some(declared.as_str())).map(|node| node.name.clone()).collect();
            for inserted_name in inserted {
                if let Some(node) = by_name.remove(&inserted_name) {
                    order.push(node.name.clone());
                    ordered.push(node);
                }
            }
            if let Some(node) = by_name.remove(declared) {
                order.push(node.name.clone());
                ordered.push(node);
            }
        }
        self.plan.nodes = ordered;
        self.plan.order = order;
    }

    pub(super) fn record_finals(&self, name: &str, finals: &mut BTreeMap<String, String>) {
        for node in self.plan.nodes.iter().filter(|node| node.name == name || node.provenance.inserted_for.as_deref() == Some(name)) {
            finals.insert(node.name.clone(), node_fingerprint(node, self.model_of(node), finals));
        }
        // The declared node last: it may read what was inserted for it.
        if let Some(node) = self.plan.nodes.iter().find(|node| node.name == name) {
            finals.insert(node.name.clone(), node_fingerprint(node, self.model_of(node), finals));
        }
    }

    /// Identifies the plan's artefacts: equal keys, equal plans.
    pub(super) fn plan_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(&self.plan.nodes).unwrap_or_default();
        format!("{:x}", Sha256::digest(text.as_bytes()))
    }

    /// Whether descending `name` again could find anything: not when its last
    /// descent kept nothing on this very plan, unless it is a model node whose
    /// history-reading moves (prompt rewrite, class vocabulary) have had fewer
    /// than `HISTORY_ROUNDS` fruitless rounds in a row.
    pub(super) fn exhausted(&self, name: &str) -> bool {
        let Some((plan, in_a_row)) = self.fruitless.get(name) else { return false };
        if *plan != self.plan_key() {
            return false;
        }
        let reads_history = self.plan.nodes.iter().find(|node| node.name == name).is_some_and(|node| node.kind.calls_a_model())
            && (self.request.settings.moves.contains(&Move::Prompt) || self.request.settings.moves.contains(&Move::Offload));
        !reads_history || *in_a_row >= HISTORY_ROUNDS
    }
}

/// Fruitless rounds in a row after which even a history-reading move stops: each
/// round the teacher has read every earlier critique and failed candidate.
const HISTORY_ROUNDS: u32 = 3;
