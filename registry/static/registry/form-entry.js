/*
 * Live branching logic and calculations on the data-entry form.
 *
 * The compiled logic of the design version (/projects/<code>/design/v<N>/logic.js) registers one
 * function per condition and calculation, generated on the server from the same AST the server
 * evaluates; this file only collects the values on the page and applies the results. The server
 * stays the authority: it recomputes calcs and clears hidden fields on save.
 */
(function () {
  "use strict";
  const compiled = {};

  window.CrfForm = {
    register(fields) {
      Object.assign(compiled, fields);
      if (document.readyState !== "loading") refresh();
    },
  };

  function context() {
    const node = document.getElementById("crf-context");
    return node ? JSON.parse(node.textContent) : {};
  }

  function inputsOf(wrapper) {
    return wrapper.querySelectorAll("input, select, textarea");
  }

  function currentValues(form) {
    const values = {};
    form.querySelectorAll("[data-field]").forEach((wrapper) => {
      const name = wrapper.dataset.field;
      const type = wrapper.dataset.type;
      if (type === "checkbox") {
        const ticked = [];
        inputsOf(wrapper).forEach((input) => {
          if (input.name === name && input.checked) ticked.push(input.value);
        });
        values[name] = ticked;
        return;
      }
      if (type === "radio" || type === "yesno" || type === "truefalse") {
        const chosen = Array.from(inputsOf(wrapper)).find((i) => i.name === name && i.checked);
        values[name] = chosen ? chosen.value : "";
        return;
      }
      const input = Array.from(inputsOf(wrapper)).find((i) => i.name === name);
      if (input) values[name] = (input.value || "").replace("T", " ");
    });
    return values;
  }

  function apply(form, base) {
    const spec = Object.assign({}, base, { values: Object.assign({}, base.base_values || {}, currentValues(form)) });
    const ctx = CrfLogic.dictContext(spec);
    form.querySelectorAll("[data-field]").forEach((wrapper) => {
      const logic = compiled[wrapper.dataset.field];
      if (!logic) return;
      if (logic.calc) {
        const input = Array.from(inputsOf(wrapper)).find((i) => i.name === wrapper.dataset.field);
        if (input) {
          let result;
          try { result = CrfLogic.toStr(logic.calc(ctx)); } catch (e) { result = ""; }
          input.value = result;
        }
      }
      if (logic.branching) {
        let visible = true;
        try { visible = CrfLogic.truthy(logic.branching(ctx)); } catch (e) { visible = true; }
        wrapper.classList.toggle("crf-hidden", !visible);
        wrapper.dataset.visible = visible ? "1" : "0";
        const header = form.querySelector(`[data-section-of="${wrapper.dataset.field}"]`);
        if (header) header.classList.toggle("crf-hidden", !visible);
      }
    });
  }

  function refresh() {
    const form = document.getElementById("crf-form");
    if (!form || typeof CrfLogic === "undefined") return;
    const base = context();
    apply(form, base);
    apply(form, base); // a calc may feed a condition further up, and the other way round
    form.dataset.logicReady = "1";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("crf-form");
    if (!form) return;
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();
  });
})();
