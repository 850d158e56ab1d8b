import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { orders } from './api';
import { useAuth } from './auth/AuthContext';
import { useCart } from './cart/CartContext';
import { useLive } from './orders/LiveEvents';
import { Loading } from './components/ui';
import { PageHeading, useFocusOnNavigate } from './components/page';
import { CatalogPage } from './pages/CatalogPage';
import { ProductPage } from './pages/ProductPage';
import { LoginPage, RegisterPage } from './pages/AuthPages';
import { CartPage } from './pages/CartPage';
import { MyOrdersPage } from './pages/MyOrdersPage';
import { OrderDetailPage } from './pages/OrderDetailPage';
import { AdminHomePage } from './pages/admin/AdminHomePage';
import { AdminProductsPage } from './pages/admin/AdminProductsPage';
import { AdminProductPage } from './pages/admin/AdminProductPage';
import { AdminOrdersPage } from './pages/admin/AdminOrdersPage';
import { QueuesPage } from './pages/ops/QueuesPage';
import { DeadLettersPage } from './pages/ops/DeadLettersPage';
import { VerifyPage } from './pages/ops/VerifyPage';
import { NotificationBell } from './notifications/NotificationBell';
import { NotificationsPage } from './pages/NotificationsPage';
import { WebhooksPage } from './pages/admin/WebhooksPage';
import { WebhookDeliveriesPage } from './pages/admin/WebhookDeliveriesPage';

// The analytics page (and its chart library) loads when first visited, not with the app.
const AnalyticsPage = lazy(() => import('./pages/admin/analytics/AnalyticsPage').then((m) => ({ default: m.AnalyticsPage })));

function NavItem({ to, children, end = false }: { to: string; children: ReactNode; end?: boolean }) {
  return (
    <NavLink
      to={to}
      end={end || to === '/'}
      className={({ isActive }) =>
        `block rounded px-2 py-1 text-sm ${isActive ? 'bg-indigo-100 font-semibold text-indigo-800' : 'text-slate-700 hover:bg-slate-100'}`
      }
    >
      {children}
    </NavLink>
  );
}

/**
 * The header: on wide screens one row of links; on phones the brand, the cart and a Menu button that opens
 * the links (and the account) below it, closed again by Escape or by following a link.
 */
function Header() {
  const { user, isAdmin, logout } = useAuth();
  const { count } = useCart();
  const { connected } = useLive();
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [pathname]);
  return (
    <header className="border-b border-slate-200 bg-white" onKeyDown={(e) => e.key === 'Escape' && setOpen(false)}>
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-3">
        <Link to="/" className="mr-1 rounded text-lg font-bold text-indigo-700">OMS</Link>
        {user && (
          <span
            title={connected ? 'Live updates on' : 'Live updates reconnecting'}
            className={`h-2 w-2 rounded-full ${connected ? 'bg-green-500' : 'bg-slate-300'}`}
            aria-hidden
          />
        )}
        <div className="order-2 ml-auto flex items-center gap-1 md:order-3 md:ml-0">
          <NotificationBell />
          <NavItem to="/cart">Cart ({count})</NavItem>
          <button type="button" className="rounded-md border border-slate-300 px-3 py-1 text-sm md:hidden"
            aria-expanded={open} aria-controls="main-menu" onClick={() => setOpen((o) => !o)}>
            {open ? 'Close menu' : 'Menu'}
          </button>
        </div>
        <div id="main-menu"
          className={`${open ? 'flex' : 'hidden'} order-3 w-full flex-col gap-3 border-t border-slate-200 pt-3 md:order-2 md:flex md:w-auto md:flex-1 md:flex-row md:items-center md:border-0 md:pt-0`}>
          <nav aria-label="Main" className="flex flex-col gap-1 md:flex-1 md:flex-row md:flex-wrap md:items-center">
            <NavItem to="/">Catalog</NavItem>
            {user && <NavItem to="/orders" end>My orders</NavItem>}
            {isAdmin && (
              <>
                <NavItem to="/admin" end>Dashboard</NavItem>
                <NavItem to="/admin/products">Products</NavItem>
                <NavItem to="/admin/orders">All orders</NavItem>
                <NavItem to="/admin/analytics">Analytics</NavItem>
                <NavItem to="/ops/queues">Queues</NavItem>
                <NavItem to="/ops/dead-letters">Dead letters</NavItem>
                <NavItem to="/ops/verify">Verify</NavItem>
                <NavItem to="/admin/webhooks">Webhooks</NavItem>
              </>
            )}
          </nav>
          {user ? (
            <div className="flex items-center gap-2 text-sm">
              <span className="text-slate-700">{user.name}</span>
              <button type="button" className="rounded px-2 py-1 text-indigo-700 hover:bg-slate-100" onClick={() => void logout()}>
                Sign out
              </button>
            </div>
          ) : (
            <div className="flex flex-col gap-1 md:flex-row">
              <NavItem to="/login">Sign in</NavItem>
              <NavItem to="/register">Sign up</NavItem>
            </div>
          )}
        </div>
      </div>
    </header>
  );
}

function RequireUser({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { user, isAdmin, resuming } = useAuth();
  const location = useLocation();
  if (resuming) return <Loading label="Signing you in…" />;
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (admin && !isAdmin) return <NotForYou />;
  return <>{children}</>;
}

function NotForYou() {
  return (
    <section>
      <PageHeading title="For administrators" />
      <p className="mt-2">This page is for administrators. <Link className="text-indigo-700 underline" to="/">Back to the catalog</Link>.</p>
    </section>
  );
}

function NotFound() {
  return (
    <section>
      <PageHeading title="Page not found" />
      <p className="mt-2">There is nothing at this address. <Link className="text-indigo-700 underline" to="/">Back to the catalog</Link>.</p>
    </section>
  );
}

/**
 * Follows the order the cart was sent as, wherever the shopper is: once PLACED the cart is emptied; a REJECTED
 * order leaves the cart as it was, to be fixed and sent again.
 */
function CartOrderWatcher() {
  const { pendingOrder, decided } = useCart();
  const { user } = useAuth();
  const q = useQuery({
    queryKey: ['order', pendingOrder],
    queryFn: () => orders.get(pendingOrder!),
    enabled: !!pendingOrder && !!user,
    refetchInterval: (query) => (query.state.data && query.state.data.status !== 'PENDING' ? false : 2_000),
  });
  const status = q.data?.status;
  useEffect(() => {
    if (pendingOrder && status && status !== 'PENDING') decided(pendingOrder, status);
    else if (pendingOrder && q.isError) decided(pendingOrder, 'REJECTED');
  }, [pendingOrder, status, q.isError, decided]);
  return null;
}

export function App() {
  useFocusOnNavigate();
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        Skip to content
      </a>
      <Header />
      <CartOrderWatcher />
      <main id="main" className="mx-auto max-w-6xl px-4 py-6">
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/products/:id" element={<ProductPage />} />
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
          <Route path="/cart" element={<CartPage />} />
          <Route path="/orders" element={<RequireUser><MyOrdersPage /></RequireUser>} />
          <Route path="/orders/:id" element={<RequireUser><OrderDetailPage /></RequireUser>} />
          <Route path="/admin" element={<RequireUser admin><AdminHomePage /></RequireUser>} />
          <Route path="/admin/products" element={<RequireUser admin><AdminProductsPage /></RequireUser>} />
          <Route path="/admin/products/:id" element={<RequireUser admin><AdminProductPage /></RequireUser>} />
          <Route path="/admin/orders" element={<RequireUser admin><AdminOrdersPage /></RequireUser>} />
          <Route path="/admin/analytics" element={<RequireUser admin><Suspense fallback={<Loading label="Loading the figures…" />}><AnalyticsPage /></Suspense></RequireUser>} />
          <Route path="/ops/queues" element={<RequireUser admin><QueuesPage /></RequireUser>} />
          <Route path="/ops/dead-letters" element={<RequireUser admin><DeadLettersPage /></RequireUser>} />
          <Route path="/ops/verify" element={<RequireUser admin><VerifyPage /></RequireUser>} />
          <Route path="/notifications" element={<RequireUser><NotificationsPage /></RequireUser>} />
          <Route path="/admin/webhooks" element={<RequireUser admin><WebhooksPage /></RequireUser>} />
          <Route path="/admin/webhooks/:id" element={<RequireUser admin><WebhookDeliveriesPage /></RequireUser>} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}
