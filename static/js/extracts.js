// The extract form's column picker: move a column up or down (the file keeps the order).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-column-picker] [data-move]");
  if (!button) return;
  const item = button.closest("li");
  if (button.dataset.move === "-1" && item.previousElementSibling) {
    item.parentNode.insertBefore(item, item.previousElementSibling);
  } else if (button.dataset.move === "1" && item.nextElementSibling) {
    item.parentNode.insertBefore(item.nextElementSibling, item);
  }
  button.focus();
});
