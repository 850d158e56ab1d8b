import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import { useAuth } from '../auth/AuthContext';
import { fieldError, formError } from '../api/errors';
import { LIMITS, lengthHint } from '../api/limits';
import { useFeedback } from '../components/feedback';
import { PageHeading, useFocusFirstInvalid } from '../components/page';
import { Button, ErrorBox, TextField } from '../components/ui';

function useAfterSignIn() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get('next');
  return () => navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
}

export function LoginPage() {
  const { login } = useAuth();
  const done = useAfterSignIn();
  const form = useRef<HTMLFormElement>(null);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const m = useMutation({ mutationFn: () => login({ email, password }), onSuccess: done });
  useFocusFirstInvalid(form, m.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  const fields = ['email', 'password'];
  return (
    <section className="mx-auto max-w-sm">
      <PageHeading title="Sign in" className="mb-4" />
      <form ref={form} onSubmit={submit} className="space-y-4" noValidate aria-label="Sign in">
        <ErrorBox error={formError(m.error, fields)} />
        <TextField label="Email" type="email" autoComplete="email" required value={email}
          onChange={(e) => setEmail(e.target.value)} error={fieldError(m.error, 'email')} />
        <TextField label="Password" type="password" autoComplete="current-password" required value={password}
          onChange={(e) => setPassword(e.target.value)} error={fieldError(m.error, 'password')} />
        <Button type="submit" disabled={m.isPending} className="w-full">
          {m.isPending ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        New here? <Link className="text-indigo-700 underline" to="/register">Create an account</Link>
      </p>
    </section>
  );
}

export function RegisterPage() {
  const { register } = useAuth();
  const { toast } = useFeedback();
  const done = useAfterSignIn();
  const form = useRef<HTMLFormElement>(null);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const m = useMutation({
    mutationFn: () => register({ email, password, name }),
    onSuccess: (u) => {
      toast(`Welcome, ${u.name}: your account is ready.`);
      done();
    },
  });
  useFocusFirstInvalid(form, m.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };
  const fields = ['name', 'email', 'password'];
  return (
    <section className="mx-auto max-w-sm">
      <PageHeading title="Create an account" className="mb-4" />
      <form ref={form} onSubmit={submit} className="space-y-4" noValidate aria-label="Create an account">
        <ErrorBox error={formError(m.error, fields)} />
        <TextField label="Name" autoComplete="name" required value={name} maxLength={LIMITS.register.name.maxLength}
          onChange={(e) => setName(e.target.value)} error={fieldError(m.error, 'name')} />
        <TextField label="Email" type="email" autoComplete="email" required value={email} maxLength={LIMITS.register.email.maxLength}
          onChange={(e) => setEmail(e.target.value)} error={fieldError(m.error, 'email')} />
        <TextField label="Password" type="password" autoComplete="new-password" required value={password}
          minLength={LIMITS.register.password.minLength} maxLength={LIMITS.register.password.maxLength}
          hint={`${lengthHint(LIMITS.register.password)}.`} onChange={(e) => setPassword(e.target.value)} error={fieldError(m.error, 'password')} />
        <Button type="submit" disabled={m.isPending} className="w-full">
          {m.isPending ? 'Creating…' : 'Sign up'}
        </Button>
      </form>
      <p className="mt-4 text-sm">
        Have an account? <Link className="text-indigo-700 underline" to="/login">Sign in</Link>
      </p>
    </section>
  );
}
