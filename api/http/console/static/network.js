// The "as the record stood" control, enhanced: a slider over the log's positions that
// redraws the charts and the member list as the record stood at each, without a reload.
// The page itself is drawn on the server; this only fetches it again for another position.

const holder = document.getElementById("record-slider");
const form = document.getElementById("record-form");
const view = document.getElementById("as-of-view");

if (holder && form && view) {
  const field = form.elements.namedItem("as_of");
  const on = form.elements.namedItem("on");
  const slider = document.createElement("input");
  Object.assign(slider, { type: "range", id: "record-position", min: holder.dataset.min,
                          max: holder.dataset.max, value: holder.dataset.value, step: "1" });
  const label = document.createElement("label");
  label.htmlFor = "record-position";
  label.textContent = "Move through the log: position ";
  const shown = document.createElement("output");
  shown.htmlFor = "record-position";
  shown.value = slider.value;
  label.append(shown);
  const play = document.createElement("button");
  play.type = "button";
  play.textContent = "Play the record";
  holder.append(label, slider, play);

  let pending = null;
  let asked = 0;
  async function redraw(position) {
    const number = ++asked;
    const query = new URLSearchParams({ as_of: position });
    if (on.value) query.set("on", on.value);
    const url = `${form.action}?${query}`;
    const answer = await fetch(url, { headers: { Accept: "text/html" } });
    if (number !== asked) return; // a later position was asked meanwhile
    if (!answer.ok) {
      view.querySelector("#record-state").textContent =
        `The record at position ${position} could not be drawn (${answer.status}).`;
      return;
    }
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("as-of-view");
    if (fresh) view.replaceChildren(...fresh.childNodes);
    history.replaceState(null, "", url);
  }

  slider.addEventListener("input", () => {
    shown.value = slider.value;
    field.value = slider.value;
    clearTimeout(pending);
    pending = setTimeout(() => redraw(slider.value), 120);
  });

  let timer = null;
  play.addEventListener("click", () => {
    if (timer) {
      clearInterval(timer);
      timer = null;
      play.textContent = "Play the record";
      return;
    }
    if (Number(slider.value) >= Number(slider.max)) slider.value = slider.min;
    play.textContent = "Pause";
    timer = setInterval(() => {
      if (Number(slider.value) >= Number(slider.max)) {
        clearInterval(timer);
        timer = null;
        play.textContent = "Play the record";
        return;
      }
      slider.value = String(Number(slider.value) + 1);
      slider.dispatchEvent(new Event("input"));
    }, 400);
  });
}
