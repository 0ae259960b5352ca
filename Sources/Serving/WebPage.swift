/// The page at `GET /`: pick or drop an image, choose the model, toggle test-time augmentation and the overlay's
/// opacity, and see the image with its classes tinted beside the class table. Self-contained (no external scripts,
/// styles or fonts), so it works offline.
///
/// The overlay is drawn as `Overlay.blend` draws it (`(1 - a)·pixel + a·colour` in float32, truncated; class 0
/// untinted), from the JSON answer's class colours and its `format=indices` mask, so that it can be compared pixel
/// for pixel with `unet predict --viz`. Element ids (`file`, `model`, `tta`, `opacity`, `image`, `overlay`, `classes`,
/// `status`) are what the browser test drives.
enum WebPage {
    static let html = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>unet serve</title>
        <style>
          body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
          header { padding: 12px 20px; background: #1f3b57; color: #fff; }
          header h1 { font-size: 18px; margin: 0; }
          main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: minmax(260px, 320px) 1fr; }
          .panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; }
          label { display: block; margin: 8px 0 4px; font-weight: 600; }
          select, input[type=text] { width: 100%; box-sizing: border-box; padding: 4px; }
          #drop { border: 2px dashed #8aa; border-radius: 6px; padding: 24px 8px; text-align: center; color: #567; cursor: pointer; }
          #drop.over { background: #eef6f6; }
          #status { margin-top: 10px; min-height: 1.4em; color: #555; }
          #status.error { color: #b00020; }
          canvas { image-rendering: pixelated; display: block; }
          .pictures { display: flex; flex-wrap: wrap; gap: 12px; }
          figure { margin: 0; }
          figcaption { color: #666; font-size: 13px; margin-top: 4px; }
          table { border-collapse: collapse; margin-top: 12px; }
          td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
          td.number { text-align: right; font-variant-numeric: tabular-nums; }
          .swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #999; vertical-align: middle; }
        </style>
        </head>
        <body>
        <header><h1>unet serve</h1></header>
        <main>
          <section class="panel">
            <label for="model">Model</label>
            <select id="model"></select>
            <label for="file">Image</label>
            <div id="drop">Drop an image here, or click to pick one<input id="file" type="file" accept="image/*" hidden></div>
            <label><input id="tta" type="checkbox"> Test-time augmentation (flips)</label>
            <label for="opacity">Overlay opacity <span id="opacityValue">0.45</span></label>
            <input id="opacity" type="range" min="0" max="1" step="0.05" value="0.45">
            <label for="token">Token (when the server asks for one)</label>
            <input id="token" type="text" autocomplete="off">
            <div id="status">Loading models…</div>
          </section>
          <section class="panel">
            <div class="pictures">
              <figure><canvas id="image" width="0" height="0"></canvas><figcaption>Image</figcaption></figure>
              <figure><canvas id="overlay" width="0" height="0"></canvas><figcaption>Classes</figcaption></figure>
            </div>
            <table><thead><tr><th>Class</th><th></th><th>Pixels</th><th>Share</th></tr></thead><tbody id="classes"></tbody></table>
          </section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let image = null, mask = null, answer = null, file = null;

        function status(text, error) { $("status").textContent = text; $("status").className = error ? "error" : ""; }
        function headers(extra) {
          const h = Object.assign({}, extra);
          const token = $("token").value.trim();
          if (token) h["Authorization"] = "Bearer " + token;
          return h;
        }
        async function errorText(response) {
          try { const body = await response.json(); return body.error || response.statusText; } catch (e) { return response.statusText; }
        }
        async function loadModels() {
          const response = await fetch("v1/models", { headers: headers({}) });
          if (!response.ok) { status("Models: " + await errorText(response), true); return; }
          const body = await response.json();
          $("model").innerHTML = "";
          for (const m of body.models) {
            const option = document.createElement("option");
            option.value = m.name;
            option.textContent = m.name + " (" + m.classes.length + " classes)";
            option.dataset.tta = m.testTimeAugmentation ? "1" : "";
            $("model").appendChild(option);
          }
          $("tta").checked = !!$("model").selectedOptions[0]?.dataset.tta;
          status("Pick or drop an image.");
        }
        function pixels(source, width, height) {
          const canvas = document.createElement("canvas");
          canvas.width = width; canvas.height = height;
          const context = canvas.getContext("2d", { willReadFrequently: true });
          context.drawImage(source, 0, 0);
          return context.getImageData(0, 0, width, height);
        }
        function draw() {
          if (!image || !mask || !answer) return;
          const alpha = Math.fround(parseFloat($("opacity").value));
          const keep = Math.fround(1 - alpha);
          const out = new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
          const colors = answer.classes.map((c) => c.color);
          for (let i = 0; i < out.data.length; i += 4) {
            const c = mask.data[i];
            if (c === 0 || c >= colors.length) continue;
            for (let k = 0; k < 3; k++) {
              const v = Math.fround(Math.fround(keep * image.data[i + k]) + Math.fround(alpha * colors[c][k]));
              out.data[i + k] = Math.trunc(v);
            }
            out.data[i + 3] = 255;
          }
          for (const [id, picture] of [["image", image], ["overlay", out]]) {
            const canvas = $(id);
            canvas.width = picture.width; canvas.height = picture.height;
            canvas.getContext("2d").putImageData(picture, 0, 0);
          }
          const rows = answer.classes.map((c) =>
            "<tr><td>" + (c.name ? escape(c.name) : "class " + c.index) + "</td>" +
            "<td><span class=swatch style='background: rgb(" + c.color.join(",") + ")'></span></td>" +
            "<td class=number>" + c.pixels + "</td><td class=number>" + (100 * c.share).toFixed(1) + " %</td></tr>");
          $("classes").innerHTML = rows.join("");
        }
        function escape(text) { return text.replace(/[&<>"']/g, (ch) => "&#" + ch.charCodeAt(0) + ";"); }
        function decode(blob) {
          return new Promise((resolve, reject) => {
            const element = new Image();
            element.onload = () => resolve(element);
            element.onerror = () => reject(new Error("the browser cannot show this image"));
            element.src = typeof blob === "string" ? blob : URL.createObjectURL(blob);
          });
        }
        async function segment() {
          if (!file) return;
          const name = $("model").value;
          status("Segmenting " + file.name + "…");
          const query = "format=indices&tta=" + ($("tta").checked ? "true" : "false");
          try {
            const response = await fetch("v1/models/" + encodeURIComponent(name) + "/segment?" + query, {
              method: "POST", body: file,
              headers: headers({ "Accept": "application/json", "Content-Type": file.type || "application/octet-stream" }) });
            if (!response.ok) { status(await errorText(response), true); return; }
            answer = await response.json();
            const [picture, maskPicture] = await Promise.all([decode(file), decode(answer.mask)]);
            image = pixels(picture, answer.width, answer.height);
            mask = pixels(maskPicture, answer.width, answer.height);
            draw();
            status("done: " + answer.width + "x" + answer.height + " in " + answer.milliseconds + " ms");
          } catch (error) {
            status(error.message, true);
          }
        }
        function choose(files) { if (files && files.length) { file = files[0]; segment(); } }
        $("drop").addEventListener("click", () => $("file").click());
        $("file").addEventListener("change", (e) => choose(e.target.files));
        $("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
        $("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
        $("drop").addEventListener("drop", (e) => { e.preventDefault(); $("drop").classList.remove("over"); choose(e.dataTransfer.files); });
        $("model").addEventListener("change", () => { $("tta").checked = !!$("model").selectedOptions[0]?.dataset.tta; segment(); });
        $("tta").addEventListener("change", segment);
        $("opacity").addEventListener("input", () => { $("opacityValue").textContent = $("opacity").value; draw(); });
        $("token").addEventListener("change", loadModels);
        loadModels();
        </script>
        </body>
        </html>
        """#
}
