/**
 * The dashboard icon: a grid of parts, one of them rare.
 */
export const FAVICON_SVG = String.raw`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b6bcb"/><g fill="#fff"><rect x="6" y="6" width="6" height="6" rx="1.5"/><rect x="13" y="6" width="6" height="6" rx="1.5" opacity=".55"/><rect x="20" y="6" width="6" height="6" rx="1.5"/><rect x="6" y="13" width="6" height="6" rx="1.5" opacity=".55"/><rect x="13" y="13" width="6" height="6" rx="1.5"/><rect x="20" y="13" width="6" height="6" rx="1.5" opacity=".3"/><rect x="6" y="20" width="6" height="6" rx="1.5"/><rect x="13" y="20" width="6" height="6" rx="1.5" opacity=".3"/><rect x="20" y="20" width="6" height="6" rx="1.5" fill="#ffb800"/></g></svg>
`;
