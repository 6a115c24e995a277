// The plan page's one behaviour: run the form's input through the server's own API
// and show the outputs and the per-node trace. No framework, no network but this
// server.
"use strict";
function valueOf(field) {
  const kind = field.dataset.kind;
  const control = field.querySelector("textarea, input");
  const port = field.dataset.port;
  if (kind === "bool") return control.checked;
  if (kind === "text") return control.value;
  if (kind === "number" || kind === "int") {
    const number = Number(control.value);
    if (control.value.trim() === "" || !Number.isFinite(number)) throw new Error("`" + port + "` needs a number");
    return number;
  }
  try { return JSON.parse(control.value); } catch (error) { throw new Error("`" + port + "` is not JSON: " + error.message); }
}
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function showTrace(result, trace) {
  if (!trace || !trace.nodes) return;
  result.appendChild(element("h3", "", "Trace"));
  const table = element("table", "trace");
  const head = table.insertRow();
  for (const title of ["node", "kind", "ms", "model calls", "output"]) head.appendChild(element("th", "", title));
  for (const node of trace.nodes) {
    const row = table.insertRow();
    row.id = "trace-" + trace.workflow + "-" + node.node;
    row.insertCell().textContent = node.node;
    row.insertCell().textContent = node.kind;
    row.insertCell().textContent = node.milliseconds.toFixed(2);
    row.insertCell().textContent = String((node.calls || []).length);
    const value = row.insertCell();
    value.className = "value";
    value.textContent = node.error !== undefined ? "error: " + node.error : JSON.stringify(node.output);
  }
  result.appendChild(table);
}
for (const form of document.querySelectorAll("form.run-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const workflow = form.dataset.workflow;
    const status = document.getElementById("status-" + workflow);
    const result = document.getElementById("result-" + workflow);
    const button = document.getElementById("run-" + workflow);
    status.className = "status";
    result.replaceChildren();
    let input = {};
    try {
      for (const field of form.querySelectorAll(".field")) input[field.dataset.port] = valueOf(field);
    } catch (error) {
      status.className = "status error";
      status.textContent = error.message;
      return;
    }
    button.disabled = true;
    status.textContent = "running…";
    try {
      const response = await fetch("/v1/workflows/" + encodeURIComponent(workflow) + ":run?trace=true", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      });
      const body = await response.json();
      result.hidden = false;
      if (response.ok) {
        status.textContent = "done in " + body.took_ms.toFixed(1) + " ms";
        result.appendChild(element("h3", "", "Outputs"));
        const outputs = element("div", "outputs", JSON.stringify(body.outputs, null, 2));
        outputs.id = "outputs-" + workflow;
        result.appendChild(outputs);
      } else {
        status.className = "status error";
        status.textContent = "HTTP " + response.status + " · " + body.error.code;
        const box = element("div", "error-box", body.error.message + (body.error.help ? "\n" + body.error.help : ""));
        box.id = "error-" + workflow;
        result.appendChild(box);
      }
      showTrace(result, body.trace);
    } catch (error) {
      status.className = "status error";
      status.textContent = "the request failed: " + error.message;
    } finally {
      button.disabled = false;
    }
  });
}
