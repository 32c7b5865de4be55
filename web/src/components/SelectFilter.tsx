/** A labelled <select> whose empty choice means "All". */
export function SelectFilter({ id, label, value, onChange, options }: { id: string; label: string; value: string; onChange: (value: string) => void; options: [string, string][] }) {
  return (
    <div class="field field-inline">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">All</option>
        {options.map(([v, text]) => (
          // Keyed by the text too: Chromium keeps a select as wide as an option's first text
          // (a key's id before its label loads) unless the option itself is replaced.
          <option key={`${v}\u0000${text}`} value={v}>
            {text}
          </option>
        ))}
        {value && !options.some(([v]) => v === value) && <option value={value}>{value}</option>}
      </select>
    </div>
  );
}
