// The registration form's place: the city list narrowed to the chosen province, the free-text
// place shown only for "other" (or when nothing is chosen). Without this script the form still
// works: every city is listed, grouped by province, and the server checks the pair.
(function () {
  "use strict";
  var province = document.getElementById("province");
  var city = document.getElementById("place_code");
  var text = document.getElementById("city");
  if (!province || !city) return;
  // Rebuilt rather than hidden: mobile Safari ignores display:none on <option>.
  var all = Array.prototype.map.call(city.querySelectorAll("option"), function (option) {
    return { value: option.value, label: option.textContent };
  });
  function fieldOf(element) {
    return element.closest ? element.closest(".field") : element.parentNode;
  }
  function narrow() {
    var chosen = province.value;
    var current = city.value;
    city.textContent = "";
    all.forEach(function (entry) {
      if (entry.value === "" || entry.value.slice(0, 2) === chosen) {
        var option = document.createElement("option");
        option.value = entry.value;
        option.textContent = entry.label;
        option.selected = entry.value === current;
        city.appendChild(option);
      }
    });
    fieldOf(city).hidden = !chosen || chosen === "other";
    if (text) fieldOf(text).hidden = Boolean(chosen) && chosen !== "other" && !text.value;
  }
  province.addEventListener("change", narrow);
  narrow();
})();
