// The printable KPI report's Print button (CSP forbids inline scripts). Does nothing elsewhere.
document.addEventListener("click", function (event) {
  if (event.target && event.target.id === "kpi-print") {
    window.print();
  }
});
