// Buwei web page: vanilla JS, no build step, nothing loaded from outside this server.
"use strict";

(function () {
  const KEY_STORAGE = "buwei.apiKey";
  const MAX_CHARS = 20000;
  const EXAMPLE =
    "我们小区的加装电梯申请，区住建局说要街道先盖章，街道说要住建局先出意见，" +
    "两边互相推诿，打了十几次电话都说不归自己管，材料交上去三个月没人理。";
  const LABEL_CLASS = { unwilling: "l-unwilling", afraid: "l-afraid", unable: "l-unable", other: "l-other" };
  let labelNames = { unwilling: "不想干事", afraid: "不敢干事", unable: "不会干事", other: "其他(非为官不为)" };
  let labelOrder = ["unwilling", "afraid", "unable", "other"];

  const $ = (id) => document.getElementById(id);

  function apiKey() {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // fetch with the API key; a JSON error body becomes an ApiError carrying its bilingual message.
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (apiKey()) headers.set("X-API-Key", apiKey());
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (err) {
      throw new ApiError(0, "network", "无法连接服务器 / cannot reach the server");
    }
    if (!response.ok) {
      let code = "http_" + response.status;
      let message = "请求失败（HTTP " + response.status + "）";
      try {
        const body = await response.json();
        if (body && body.error) {
          code = body.error.code;
          message = body.error.message;
        }
      } catch (err) {
        /* not JSON: keep the generic message */
      }
      if (response.status === 401) $("key-box").open = true;
      throw new ApiError(response.status, code, message);
    }
    return response;
  }

  function showError(element, error) {
    element.textContent = error.message;
    element.hidden = false;
  }

  function percent(p) {
    return (p * 100).toFixed(1) + "%";
  }

  // ---------------------------------------------------------------- model and labels

  async function loadModel() {
    const status = $("model-status");
    try {
      const info = await (await api("/v1/model")).json();
      $("model-version").textContent = info.version;
      $("model-trained").textContent = (info.trained_at || "").replace("T", " ").replace("+00:00", " UTC");
      const f1 = info.metrics && typeof info.metrics.macro_f1 === "number" ? info.metrics.macro_f1.toFixed(3) : "—";
      $("model-f1").textContent = f1;
      $("report-link").hidden = !info.report_url;
      $("model-meta").hidden = false;
      status.textContent = "模型已就绪";
      status.className = "status status-ok";
      if (info.reload_error) {
        status.textContent = "模型已就绪（最近一次更新被拒绝：" + info.reload_error + "）";
        status.className = "status status-warn";
      }
    } catch (error) {
      $("model-meta").hidden = true;
      status.textContent = error.status === 503 ? "模型尚未加载" : error.message;
      status.className = "status status-bad";
    }
  }

  async function loadLabels() {
    try {
      const body = await (await api("/v1/labels")).json();
      const list = $("label-list");
      list.replaceChildren();
      labelOrder = body.labels.map((l) => l.code);
      labelNames = Object.fromEntries(body.labels.map((l) => [l.code, l.zh]));
      for (const label of body.labels) {
        const term = document.createElement("dt");
        const badge = document.createElement("span");
        badge.className = "badge " + (LABEL_CLASS[label.code] || "");
        badge.textContent = label.zh;
        const code = document.createElement("code");
        code.textContent = label.code;
        term.append(badge, " ", code);
        const definition = document.createElement("dd");
        definition.textContent = label.definition_zh;
        list.append(term, definition);
      }
    } catch (error) {
      /* the defaults above still name the labels */
    }
  }

  // ---------------------------------------------------------------- one text

  function updateCount() {
    const n = $("text").value.length;
    $("char-count").textContent = n.toLocaleString("zh-CN") + " / 20,000 字";
    $("char-count").classList.toggle("error-text", n > MAX_CHARS);
  }

  async function classify() {
    const text = $("text").value;
    const error = $("classify-error");
    error.hidden = true;
    if (!text.trim()) {
      showError(error, { message: "请先输入要分类的文本 / please enter a text first" });
      return;
    }
    const button = $("classify-btn");
    button.disabled = true;
    button.textContent = "分类中……";
    try {
      const response = await api("/v1/classify", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      renderResult(text, await response.json());
    } catch (err) {
      $("result").hidden = true;
      showError(error, err);
    } finally {
      button.disabled = false;
      button.textContent = "分类";
    }
  }

  function renderResult(text, result) {
    const label = $("result-label");
    label.textContent = result.label_zh;
    label.className = "badge big " + (LABEL_CLASS[result.label] || "");
    $("result-code").textContent = result.label;
    $("result-confidence").textContent = percent(result.confidence);
    $("result-second").textContent = labelNames[result.second_label] || result.second_label;
    const review = $("result-review");
    review.textContent = result.needs_review ? "⚠ 建议人工复核" : "✓ 无需复核";
    review.className = "flag " + (result.needs_review ? "flag-review" : "flag-ok");
    $("result-version").textContent = result.model_version;

    const bars = $("bars");
    bars.replaceChildren();
    for (const code of labelOrder) {
      const p = result.probabilities[code] || 0;
      const row = document.createElement("div");
      row.className = "bar-row" + (code === result.label ? " top" : "");
      row.dataset.label = code;
      const name = document.createElement("span");
      name.className = "bar-name";
      name.textContent = labelNames[code] || code;
      const track = document.createElement("span");
      track.className = "bar-track";
      const fill = document.createElement("span");
      fill.className = "bar-fill " + (LABEL_CLASS[code] || "");
      fill.style.width = Math.max(0, Math.min(100, p * 100)).toFixed(1) + "%";
      track.append(fill);
      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = percent(p);
      row.append(name, track, value);
      bars.append(row);
    }

    $("highlighted").replaceChildren(highlight(text, result.evidence || []));
    const list = $("evidence");
    list.replaceChildren();
    for (const item of result.evidence || []) {
      const li = document.createElement("li");
      const term = document.createElement("mark");
      term.textContent = item.term;
      li.append(term, " ", item.weight.toFixed(3));
      list.append(li);
    }
    if (!(result.evidence || []).length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "没有明显的证据词";
      list.append(li);
    }
    $("result").hidden = false;
  }

  // The text as DOM nodes with every occurrence of an evidence term wrapped in <mark>.
  // Longer and stronger terms win where occurrences overlap. No HTML is ever parsed from the text.
  function highlight(text, evidence) {
    const maxWeight = Math.max(1e-9, ...evidence.map((e) => e.weight));
    const spans = [];
    for (const item of evidence) {
      if (!item.term) continue;
      let from = 0;
      for (;;) {
        const at = text.indexOf(item.term, from);
        if (at < 0) break;
        spans.push({ start: at, end: at + item.term.length, weight: item.weight });
        from = at + item.term.length;
      }
    }
    spans.sort((a, b) => a.start - b.start || b.end - b.start - (a.end - a.start) || b.weight - a.weight);
    const fragment = document.createDocumentFragment();
    let pos = 0;
    for (const span of spans) {
      if (span.start < pos) continue; // overlaps a span already marked
      fragment.append(document.createTextNode(text.slice(pos, span.start)));
      const mark = document.createElement("mark");
      const strength = span.weight / maxWeight;
      mark.className = strength > 0.66 ? "strong" : strength > 0.33 ? "medium" : "weak";
      mark.title = "权重 " + span.weight.toFixed(3);
      mark.textContent = text.slice(span.start, span.end);
      fragment.append(mark);
      pos = span.end;
    }
    fragment.append(document.createTextNode(text.slice(pos)));
    return fragment;
  }

  // ---------------------------------------------------------------- a file

  function downloadName(response, fallback) {
    const header = response.headers.get("Content-Disposition") || "";
    const star = /filename\*=(?:UTF-8|utf-8)''([^;]+)/.exec(header);
    if (star) {
      try {
        return decodeURIComponent(star[1]);
      } catch (err) {
        /* fall through */
      }
    }
    const plain = /filename="?([^";]+)"?/.exec(header);
    return plain ? plain[1] : fallback;
  }

  async function upload() {
    const input = $("file");
    const error = $("upload-error");
    const status = $("upload-status");
    error.hidden = true;
    $("download-row").hidden = true;
    if (!input.files.length) {
      showError(error, { message: "请先选择文件 / choose a file first" });
      return;
    }
    const file = input.files[0];
    const form = new FormData();
    form.append("file", file, file.name);
    const column = $("text-column").value.trim();
    if (column) form.append("text_column", column);
    const button = $("upload-btn");
    button.disabled = true;
    status.textContent = "正在上传并标注 " + file.name + "……大文件需要一些时间。";
    try {
      const response = await api("/v1/files", { method: "POST", body: form });
      const blob = await response.blob();
      const name = downloadName(response, file.name);
      const link = $("download-link");
      if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(blob);
      link.download = name;
      link.textContent = "下载 " + name;
      const rows = response.headers.get("X-Buwei-Rows");
      const review = response.headers.get("X-Buwei-Needs-Review");
      status.textContent = rows !== null ? "共标注 " + rows + " 行，其中 " + review + " 行建议人工复核。" : "";
      $("download-row").hidden = false;
      link.click();
    } catch (err) {
      status.textContent = "";
      showError(error, err);
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------- the evaluation report

  // Shown inside the page so that it works with an API key too (a plain link cannot send the header).
  async function showReport(event) {
    event.preventDefault();
    const card = $("report-card");
    const body = $("report-body");
    body.textContent = "正在读取报告……";
    card.hidden = false;
    try {
      const html = await (await api("/v1/model/report")).text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      body.replaceChildren(...Array.from(doc.body.childNodes).map((n) => document.adoptNode(n)));
      for (const img of body.querySelectorAll("img")) {
        const name = (img.getAttribute("src") || "").split("/").pop();
        img.removeAttribute("src");
        try {
          const blob = await (await api("/v1/model/report/" + encodeURIComponent(name))).blob();
          img.src = URL.createObjectURL(blob);
        } catch (err) {
          img.alt = (img.alt || name) + "（无法读取）";
        }
      }
    } catch (err) {
      body.textContent = err.message;
    }
    card.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $("text").addEventListener("input", updateCount);
    $("text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify();
    });
    $("classify-btn").addEventListener("click", classify);
    $("example-btn").addEventListener("click", () => {
      $("text").value = EXAMPLE;
      updateCount();
    });
    $("upload-btn").addEventListener("click", upload);
    $("file").addEventListener("change", () => {
      const chosen = $("file").files;
      $("file-name").textContent = chosen.length ? chosen[0].name : "未选择文件";
    });
    $("report-link").addEventListener("click", showReport);
    $("report-close").addEventListener("click", () => ($("report-card").hidden = true));
    $("api-key").value = apiKey();
    $("api-key-save").addEventListener("click", () => {
      sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
      loadModel();
      loadLabels();
    });
    updateCount();
    loadModel();
    loadLabels();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
