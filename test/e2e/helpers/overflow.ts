/**
 * What a page shows cut off at the window's width, evaluated in the page (a string: the test code is not
 * compiled against the DOM): the document wider than the window, any element that clips or scrolls its
 * content sideways (text cut on purpose shows an ellipsis and is skipped), and any table cell ending
 * past the window. An empty list: everything fits.
 */
export const HORIZONTAL_OVERFLOW = `(() => {
  const found = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) found.push('the page is ' + root.scrollWidth + ' px wide in a ' + root.clientWidth + ' px window');
  for (const el of document.querySelectorAll('.content *')) {
    const style = getComputedStyle(el);
    if (style.textOverflow === 'ellipsis' || style.display === 'none') continue;
    const name = el.tagName.toLowerCase() + '.' + (el.className || '-') + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '');
    if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      found.push(name + ' scrolls ' + el.scrollWidth + ' px in ' + el.clientWidth + ' px');
    }
    if ((el.tagName === 'TD' || el.tagName === 'TH') && el.getBoundingClientRect().right > root.clientWidth + 0.5) {
      found.push('a ' + el.tagName.toLowerCase() + ' ("' + (el.textContent || '').slice(0, 30) + '") ends past the window');
    }
  }
  return found;
})()`;
