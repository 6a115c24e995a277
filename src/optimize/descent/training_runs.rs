//! Running the plan on the training examples: loading models, the executor, the
//! validation of a whole plan, the gold trace, and what each node reads.

use super::*;

pub(super) struct Validation {
    pub(super) passed: Vec<bool>,
    pub(super) traces: Vec<RunTrace>,
}

impl Validation {
    pub(super) fn count(&self) -> usize {
        self.passed.iter().filter(|passed| **passed).count()
    }

    pub(super) fn all(&self) -> bool {
        self.passed.iter().all(|passed| *passed)
    }
}

impl Engine {
    pub(super) async fn ensure_models(&mut self, workflow: &LockedWorkflow) -> Result<(), String> {
        let wanted: Vec<String> = workflow.nodes.iter().filter_map(|node| node.model.clone()).collect();
        for name in wanted {
            if self.loaded.contains_key(&name) {
                continue;
            }
            let model = self.request.models.get(&name).ok_or_else(|| format!("the plan uses the model `{name}` but does not declare it"))?.clone();
            let backend = self.services.provider.load(&name, &model).await?;
            let reporting = ReportingBackend { name: name.clone(), inner: backend, calls: Arc::clone(&self.student_calls), events: Arc::clone(&self.services.events) };
            self.loaded.insert(name, Arc::new(reporting));
        }
        Ok(())
    }

    pub(super) async fn teacher(&mut self) -> Result<Arc<Teacher>, TeacherError> {
        if let Some(teacher) = &self.teacher {
            return Ok(Arc::clone(teacher));
        }
        let settings = &self.request.settings;
        let backend = self.services.provider.load(&settings.teacher_name, &settings.teacher).await.map_err(TeacherError::Model)?;
        let teacher = Arc::new(Teacher::new(backend, settings.teacher.decoding.clone(), self.services.cache.clone(), settings.budget.clone(), Arc::clone(&self.services.events)));
        self.teacher = Some(Arc::clone(&teacher));
        Ok(teacher)
    }

    pub(super) fn executor(&self, workflow: &LockedWorkflow) -> Arc<WorkflowExecutor> {
        Arc::new(WorkflowExecutor {
            workflow: workflow.clone(),
            models: self.loaded.clone(),
            sandbox: self.services.sandbox.clone(),
            cache: self.services.cache.clone(),
            permits: Arc::new(Semaphore::new(self.services.jobs.max(1))),
        })
    }

    pub(super) async fn validate(&mut self, workflow: &LockedWorkflow) -> Result<Validation, String> {
        let examples = self.request.examples.clone();
        self.validate_on(workflow, &examples).await
    }

    pub(super) async fn validate_on(&mut self, workflow: &LockedWorkflow, examples: &[Example]) -> Result<Validation, String> {
        self.ensure_models(workflow).await?;
        let executor = self.executor(workflow);
        let evaluation = workflow.evaluation.clone().ok_or("the workflow has no metric")?;
        let mut tasks = JoinSet::new();
        for (index, example) in examples.iter().enumerate() {
            let executor = Arc::clone(&executor);
            let evaluation = evaluation.clone();
            let example = example.clone();
            tasks.spawn(async move {
                let trace = executor.run(example.inputs.clone()).await;
                let (_, passed, _) = score_outputs(&executor.sandbox, &evaluation, &example.expected, trace.outputs.as_ref()).await;
                (index, trace.error.is_none() && passed, trace)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|error| format!("a validation run failed: {error}"))?);
        }
        results.sort_by_key(|(index, _, _)| *index);
        Ok(Validation { passed: results.iter().map(|(_, passed, _)| *passed).collect(), traces: results.into_iter().map(|(_, _, trace)| trace).collect() })
    }

    pub(super) async fn ensure_validation(&mut self) -> Result<(), String> {
        if self.validation.is_some() {
            return Ok(());
        }
        let plan = self.plan.clone();
        let validation = self.validate(&plan).await?;
        (self.services.events)(&BuildEvent::Validated {
            workflow: self.workflow_name(),
            step: self.step,
            passed: validation.count(),
            total: validation.passed.len(),
            note: "the plan before any change".into(),
        });
        self.baseline.get_or_insert(validation.count());
        self.validation = Some(validation);
        Ok(())
    }

    pub(super) async fn ensure_gold(&mut self) -> Result<(), TeacherError> {
        if self.gold.is_some() {
            return Ok(());
        }
        let teacher = self.teacher().await?;
        // The previous lock's gold, per node: reused where its key still holds.
        let locked: BTreeMap<String, NodeGold> =
            self.request.previous.iter().flat_map(|previous| previous.nodes.iter()).filter_map(|node| Some((node.name.clone(), NodeGold::from_locked(node)?))).collect();
        let teacher_fingerprint = crate::plan::fingerprint::fingerprint_of(&self.request.settings.teacher);
        let outcome = gold_trace(&teacher, &self.request.as_written, &self.request.examples, &teacher_fingerprint, &locked).await?;
        self.gold_records = Some(outcome.records);
        let gold = outcome.trace;
        for (example, values) in gold.iter().enumerate() {
            (self.services.events)(&BuildEvent::GoldTrace { workflow: self.workflow_name(), example, values: values.clone().into_iter().collect() });
        }
        self.gold = Some(gold);
        Ok(())
    }

    /// What `name` reads on each training example: the current plan's values,
    /// and gold values where the plan failed before reaching them.
    pub(super) fn environments(&self, name: &str) -> Vec<Environment> {
        let validation = self.validation.as_ref().expect("validated before descending");
        let gold = self.gold.as_ref();
        self.request
            .examples
            .iter()
            .enumerate()
            .map(|(index, example)| {
                let mut environment: Environment = example.inputs.clone().into_iter().collect();
                if let Some(trace) = validation.traces.get(index) {
                    for node in &trace.nodes {
                        if let Some(output) = &node.output {
                            environment.insert(node.node.clone(), output.clone());
                        }
                    }
                }
                if let Some(gold) = gold.and_then(|gold| gold.get(index)) {
                    for (node, value) in gold {
                        if node != name {
                            environment.entry(node.clone()).or_insert_with(|| value.clone());
                        }
                    }
                }
                environment
            })
            .collect()
    }

    pub(super) fn output_name(&self, node: &str) -> Option<String> {
        self.plan.outputs.iter().find(|output| output.from == node).map(|output| output.name.clone())
    }
}
