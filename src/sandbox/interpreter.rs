//! One call, evaluated in this process: parse, run the module, call the function,
//! convert the result. The worker runs this for every request; it holds no state
//! between calls except the (immutable) globals and the syntax trees of sources it
//! has parsed (a pure function of the text: the worker keeps them by source id in
//! `WorkerSources`, [`Interpreter::call`] by text in [`ParsedSources`]), so a call's
//! value depends only on its source and arguments, whichever worker runs it.
//!
//! Every call gets a fresh starlark module and heap: nothing one call does (a global
//! list it appends to, say) can be seen by the next.

use std::cell::Cell;
use std::time::{Duration, Instant};

use serde_json::{Map, Value as JsonValue};
use starlark::environment::{Globals, Module};
use starlark::eval::Evaluator;
use starlark::syntax::{AstModule, Dialect, DialectTypes};
use starlark::ErrorKind;

use super::limits::{starlark_heap_limit, MAX_CALL_DEPTH};
use super::parsed_sources::ParsedSources;
use super::prelude::{sandbox_globals, DiscardPrinting};
use super::values::{json_to_starlark, starlark_to_json};
use super::SandboxError;

/// The name errors give the source (`code:3:5`); the user knows it as "the code".
const SOURCE_NAME: &str = "code";

/// What one call may use.
#[derive(Debug, Clone, Copy)]
pub struct CallBudget {
    pub max_steps: u64,
    pub max_memory_bytes: u64,
    pub timeout: Duration,
}

/// The interpreter of one worker. Public for the benchmark and for tests; flowc
/// itself runs code only through [`Sandbox`](super::Sandbox): in this process
/// nothing but starlark's best-effort heap check limits memory, and a memory bomb
/// would take the whole process down.
pub struct Interpreter {
    globals: Globals,
    dialect: Dialect,
    parsed: ParsedSources,
}

impl Default for Interpreter {
    fn default() -> Interpreter {
        Interpreter::new()
    }
}

impl Interpreter {
    pub fn new() -> Interpreter {
        Interpreter {
            globals: sandbox_globals(),
            dialect: sandbox_dialect(),
            parsed: ParsedSources::default(),
        }
    }

    /// Runs `source`, then calls `function` with `arguments` as keyword arguments.
    /// Keeps the parse of `source` for the next call of the same text.
    pub fn call(
        &self,
        source: &str,
        function: &str,
        arguments: &Map<String, JsonValue>,
        budget: CallBudget,
    ) -> Result<JsonValue, SandboxError> {
        let started = Instant::now();
        let ast = self.parsed.get_or_parse(source, || self.parse(source))?;
        self.call_parsed(ast, started, function, arguments, budget)
    }

    /// The syntax tree of `source`, or its syntax error as a call reports it.
    pub(crate) fn parse(&self, source: &str) -> Result<AstModule, SandboxError> {
        AstModule::parse(SOURCE_NAME, source.to_owned(), &self.dialect).map_err(|error| syntax_error(&error, source))
    }

    /// Runs a parsed source in a fresh module, then calls `function`. The timeout
    /// counts from `started`, which is before the parse when there was one, so a
    /// call's time limit covers the same work whether or not its parse was kept.
    pub(crate) fn call_parsed(
        &self,
        ast: AstModule,
        started: Instant,
        function: &str,
        arguments: &Map<String, JsonValue>,
        budget: CallBudget,
    ) -> Result<JsonValue, SandboxError> {
        let deadline = started + budget.timeout;
        let deadline_passed = Cell::new(false);
        Module::with_temp_heap(|module| {
            let mut evaluator = Evaluator::new(&module);
            evaluator.set_print_handler(&DiscardPrinting);
            configure(&mut evaluator, budget)?;
            evaluator.set_check_cancelled(Box::new(|| {
                let passed = Instant::now() >= deadline;
                deadline_passed.set(passed);
                passed
            }));
            let failure = |error: starlark::Error, evaluator: &mut Evaluator| {
                classify_failure(error, evaluator, budget, deadline_passed.get())
            };

            if let Err(error) = evaluator.eval_module(ast, &self.globals) {
                return Err(failure(error, &mut evaluator));
            }
            let Some(callee) = module.get(function) else {
                return Err(SandboxError::MissingFunction {
                    name: function.to_owned(),
                });
            };
            let heap = module.heap();
            let mut keyword_arguments = Vec::with_capacity(arguments.len());
            for (name, value) in arguments {
                keyword_arguments.push((name.as_str(), json_to_starlark(value, heap)?));
            }
            match evaluator.eval_function(callee, &[], &keyword_arguments) {
                Ok(result) => starlark_to_json(result),
                Err(error) => Err(failure(error, &mut evaluator)),
            }
        })
    }
}

/// Standard starlark, plus what makes Python-style code parse: statements at the
/// top level, keyword-only arguments, and type annotations (read, not checked: they
/// are documentation in Python too). `load` is switched off: it is the only statement
/// that could reach outside the source.
pub(crate) fn sandbox_dialect() -> Dialect {
    Dialect {
        enable_load: false,
        enable_top_level_stmt: true,
        enable_keyword_only_arguments: true,
        enable_types: DialectTypes::ParseOnly,
        enable_f_strings: true,
        ..Dialect::Standard
    }
}

fn configure(evaluator: &mut Evaluator, budget: CallBudget) -> Result<(), SandboxError> {
    // The setters fail only when a limit is set twice or to zero, which `validate`
    // and this single call rule out; their errors are read as text because flowc
    // does not depend on anyhow.
    let setting_failed = |message: String| SandboxError::Worker {
        message: format!("could not set an interpreter limit: {message}"),
    };
    evaluator
        .set_max_callstack_size(MAX_CALL_DEPTH)
        .map_err(|error| setting_failed(error.to_string()))?;
    evaluator
        .set_max_tick_count(budget.max_steps)
        .map_err(|error| setting_failed(error.to_string()))?;
    evaluator
        .set_max_heap_size(starlark_heap_limit(budget.max_memory_bytes))
        .map_err(|error| setting_failed(error.to_string()))?;
    Ok(())
}

/// Which limit, if any, stopped the code, or else what it did wrong.
///
/// starlark reports its three limits as untyped errors raised from the same periodic
/// check (deadline, then heap, then ticks); each is recognised by its message *and*
/// by the evaluator's state, so a genuine error of the code is never mistaken for a
/// limit.
fn classify_failure(
    error: starlark::Error,
    evaluator: &mut Evaluator,
    budget: CallBudget,
    deadline_passed: bool,
) -> SandboxError {
    let message = error.without_diagnostic().to_string();
    if let ErrorKind::Other(_) = error.kind() {
        if deadline_passed && message.starts_with("Evaluation cancelled") {
            return SandboxError::Timeout {
                seconds: budget.timeout.as_secs_f64(),
            };
        }
        if message.starts_with("Heap memory limit") {
            return SandboxError::MemoryLimit {
                bytes: budget.max_memory_bytes,
            };
        }
        if message.starts_with("Execution duration limit") && evaluator.get_total_tick_count() > budget.max_steps {
            return SandboxError::StepLimit {
                steps: budget.max_steps,
            };
        }
    }
    if let ErrorKind::StackOverflow(_) = error.kind() {
        return SandboxError::Runtime {
            message: format!(
                "calls nested more than {MAX_CALL_DEPTH} deep (a recursion that does not end?){}",
                location_suffix(&error)
            ),
        };
    }
    SandboxError::Runtime {
        message: format!("{}{}", first_line(&message), location_suffix(&error)),
    }
}

/// ` (line 3)`, when starlark knows where the error happened.
fn location_suffix(error: &starlark::Error) -> String {
    match error.span() {
        Some(span) => format!(" (line {})", span.resolve_span().begin.line + 1),
        None => String::new(),
    }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim_end()
}

fn syntax_error(error: &starlark::Error, source: &str) -> SandboxError {
    let line = error.span().map(|span| span.resolve_span().begin.line);
    let mut message = first_line(&error.without_diagnostic().to_string()).to_owned();
    if let Some(hint) = line
        .and_then(|line| source.lines().nth(line))
        .and_then(python_feature_hint)
    {
        message.push_str(" (");
        message.push_str(hint);
        message.push(')');
    }
    SandboxError::Syntax {
        message,
        line: line.map(|line| line as u32 + 1),
    }
}

/// Python features the language leaves out, recognised on the line a syntax error
/// points at, so the message says what to write instead.
fn python_feature_hint(line: &str) -> Option<&'static str> {
    let statement = line.trim_start();
    if statement.starts_with("while ") || statement.starts_with("while(") {
        Some("`while` loops are not supported: use `for _ in range(limit):` with `break`")
    } else if statement.starts_with("import ") || statement.starts_with("from ") {
        Some("imports are not supported: the code can use only the built-in functions")
    } else if statement.starts_with("load(") {
        Some("`load` is not supported: the code cannot read other files")
    } else if statement.starts_with("class ") {
        Some("classes are not supported: use dicts and functions")
    } else if statement.starts_with("try:") || statement.starts_with("try ") {
        Some("`try` is not supported: check values before using them")
    } else if statement.starts_with("with ") {
        Some("`with` is not supported")
    } else if line.contains("**") {
        Some("`**` is not supported: multiply, or write a loop")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn budget() -> CallBudget {
        CallBudget {
            max_steps: 1_000_000,
            max_memory_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }

    fn call(source: &str, function: &str, arguments: JsonValue) -> Result<JsonValue, SandboxError> {
        call_with_budget(source, function, arguments, budget())
    }

    /// On a thread with the worker's stack: a test thread's 2 MiB does not hold the
    /// deepest recursion the limits allow.
    fn call_with_budget(
        source: &str,
        function: &str,
        arguments: JsonValue,
        budget: CallBudget,
    ) -> Result<JsonValue, SandboxError> {
        let JsonValue::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        let (source, function) = (source.to_owned(), function.to_owned());
        std::thread::Builder::new()
            .stack_size(crate::sandbox::limits::INTERPRETER_STACK_BYTES)
            .spawn(move || Interpreter::new().call(&source, &function, &arguments, budget))
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn calls_the_named_function_with_keyword_arguments() {
        let source = "def run(numbers, factor):\n    return [n * factor for n in numbers]\n";
        assert_eq!(
            call(source, "run", json!({"numbers": [1, 2.5], "factor": 2})).unwrap(),
            json!([2, 5.0])
        );
    }

    #[test]
    fn pal_programs_run_as_in_python() {
        let source =
            "def solution():\n    \"\"\"A docstring.\"\"\"\n    eggs = 16 - 3 - 4933828\n    return eggs * 2 / 4\n";
        assert_eq!(call(source, "solution", json!({})).unwrap(), json!(-2466907.5));
    }

    #[test]
    fn prelude_sum_and_round_follow_python() {
        let source = "def run():\n    return [sum([1, 2, 3]), sum([0.5, 0.25], 1), sum([], start = 2.5), round(2.5), round(3.5), round(-2.5), round(2.675, 2), round(1250, -2), round(1e20) == 100000000000000000000, round(-1.5e19) == -15000000000000000000]\n";
        assert_eq!(
            call(source, "run", json!({})).unwrap(),
            json!([6, 1.75, 2.5, 2, 4, -2, 2.67, 1200, true, true])
        );
        let error = call("def run():\n    return sum(['a'], '')\n", "run", json!({})).unwrap_err();
        assert!(error.to_string().contains("can't sum strings"), "{error}");
    }

    #[test]
    fn type_annotations_and_top_level_statements_parse() {
        let source = "RATE = 0.5\nTOTAL = 0\nfor i in range(3):\n    TOTAL += i\n\ndef run(price: float, items: list) -> float:\n    return price * RATE + TOTAL + len(items)\n";
        assert_eq!(
            call(source, "run", json!({"price": 10, "items": [1, 2]})).unwrap(),
            json!(10.0)
        );
    }

    #[test]
    fn syntax_errors_carry_the_line_and_a_hint() {
        let error = call(
            "def run():\n    x = 1\n    while x < 3:\n        x += 1\n    return x\n",
            "run",
            json!({}),
        )
        .unwrap_err();
        let SandboxError::Syntax { line, message } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*line, Some(3));
        assert!(message.contains("`while` loops are not supported"), "{message}");
        let error = call("import math\ndef run():\n    return 1\n", "run", json!({})).unwrap_err();
        assert!(matches!(error, SandboxError::Syntax { line: Some(1), .. }), "{error:?}");
    }

    #[test]
    fn runtime_errors_say_what_and_where() {
        let error = call("def run():\n    x = 1\n    return x // 0\n", "run", json!({})).unwrap_err();
        let SandboxError::Runtime { message } = &error else {
            panic!("{error:?}")
        };
        assert!(message.contains("(line 3)"), "{message}");
    }

    #[test]
    fn a_missing_function_is_named() {
        assert_eq!(
            call("def score():\n    return 1\n", "run", json!({})).unwrap_err(),
            SandboxError::MissingFunction { name: "run".into() }
        );
    }

    #[test]
    fn the_step_limit_stops_an_endless_loop() {
        let source = "def run():\n    for i in range(100000):\n        for j in range(100000):\n            pass\n";
        assert_eq!(
            call(source, "run", json!({})).unwrap_err(),
            SandboxError::StepLimit {
                steps: budget().max_steps
            }
        );
    }

    #[test]
    fn deep_recursion_is_an_error() {
        let source = "def down(n):\n    return down(n + 1)\n\ndef run():\n    return down(0)\n";
        let error = call(source, "run", json!({})).unwrap_err();
        assert!(error.to_string().contains("nested more than 500 deep"), "{error}");
    }

    #[test]
    fn the_deadline_stops_a_long_loop() {
        let source = "def run():\n    for i in range(100000):\n        for j in range(100000):\n            pass\n";
        let budget = CallBudget {
            max_steps: u64::MAX / 2,
            timeout: Duration::from_millis(50),
            ..budget()
        };
        assert_eq!(
            call_with_budget(source, "run", json!({}), budget).unwrap_err(),
            SandboxError::Timeout { seconds: 0.05 }
        );
    }

    #[test]
    fn print_is_accepted_and_discarded() {
        assert_eq!(
            call("def run():\n    print('debug', 1)\n    return 2\n", "run", json!({})).unwrap(),
            json!(2)
        );
    }

    #[test]
    fn a_source_is_parsed_once_and_every_call_still_starts_fresh() {
        let interpreter = Interpreter::new();
        let source = "SEEN = []\ndef run(x):\n    SEEN.append(x)\n    return len(SEEN) * 10 + x\n";
        for x in 1..=3 {
            let JsonValue::Object(arguments) = json!({"x": x}) else { unreachable!() };
            assert_eq!(interpreter.call(source, "run", &arguments, budget()).unwrap(), json!(10 + x));
        }
        assert_eq!(interpreter.parsed.len(), 1);
        // A syntax error is reported every time and not kept.
        let JsonValue::Object(none) = json!({}) else { unreachable!() };
        for _ in 0..2 {
            assert!(matches!(interpreter.call("def run(:\n", "run", &none, budget()), Err(SandboxError::Syntax { .. })));
        }
        assert_eq!(interpreter.parsed.len(), 1);
    }

    #[test]
    fn the_parse_cache_stays_bounded() {
        let interpreter = Interpreter::new();
        let JsonValue::Object(none) = json!({}) else { unreachable!() };
        for n in 0..(super::super::parsed_sources::CAPACITY + 5) {
            let source = format!("def run():\n    return {n}\n");
            assert_eq!(interpreter.call(&source, "run", &none, budget()).unwrap(), json!(n));
        }
        assert!(interpreter.parsed.len() <= super::super::parsed_sources::CAPACITY);
    }

    #[test]
    fn calls_do_not_share_state() {
        let source = "SEEN = []\ndef run():\n    SEEN.append(1)\n    return len(SEEN)\n";
        let interpreter = Interpreter::new();
        let JsonValue::Object(arguments) = json!({}) else {
            unreachable!()
        };
        for _ in 0..3 {
            assert_eq!(interpreter.call(source, "run", &arguments, budget()).unwrap(), json!(1));
        }
    }
}
