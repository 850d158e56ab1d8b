// A file input with a preview of the chosen image and an upload progress bar.
import { useEffect, useId, useState } from 'react';

export function ImagePicker({ file, onFile, progress, error }: {
  file: File | null;
  onFile(f: File | null): void;
  progress: number | null;
  error?: string;
}) {
  const id = useId();
  const [preview, setPreview] = useState<string | null>(null);
  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">Image (PNG, JPEG or WebP)</label>
      <input id={id} type="file" accept="image/png,image/jpeg,image/webp"
        aria-invalid={error ? true : undefined}
        onChange={(e) => onFile(e.target.files?.[0] ?? null)} className="mt-1 block w-full text-sm" />
      {error && <p role="alert" className="mt-1 text-sm text-red-600">{error}</p>}
      {preview && <img src={preview} alt="Preview of the chosen image" className="mt-2 h-32 w-32 rounded object-cover" />}
      {progress !== null && (
        <progress className="mt-2 h-2 w-full" max={1} value={progress} aria-label="Upload progress">
          {Math.round(progress * 100)}%
        </progress>
      )}
    </div>
  );
}
