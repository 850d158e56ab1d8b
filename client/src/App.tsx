import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import type { ReactNode } from 'react';
import { useAuth } from './auth/AuthContext';
import { useCart } from './cart/CartContext';
import { useLive } from './orders/LiveEvents';
import { CatalogPage } from './pages/CatalogPage';
import { LoginPage, RegisterPage } from './pages/AuthPages';
import { CartPage } from './pages/CartPage';
import { MyOrdersPage } from './pages/MyOrdersPage';
import { OrderDetailPage } from './pages/OrderDetailPage';
import { AdminProductsPage } from './pages/admin/AdminProductsPage';
import { AdminProductPage } from './pages/admin/AdminProductPage';
import { AdminOrdersPage } from './pages/admin/AdminOrdersPage';
import { QueuesPage } from './pages/ops/QueuesPage';
import { DeadLettersPage } from './pages/ops/DeadLettersPage';
import { VerifyPage } from './pages/ops/VerifyPage';

function NavItem({ to, children }: { to: string; children: ReactNode }) {
  return (
    <NavLink
      to={to}
      end={to === '/'}
      className={({ isActive }) =>
        `rounded px-2 py-1 text-sm ${isActive ? 'bg-indigo-100 font-semibold text-indigo-800' : 'text-slate-700 hover:bg-slate-100'}`
      }
    >
      {children}
    </NavLink>
  );
}

function Header() {
  const { user, isAdmin, logout } = useAuth();
  const { count } = useCart();
  const { connected } = useLive();
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-2 px-4 py-3">
        <span className="mr-2 text-lg font-bold text-indigo-700">OMS</span>
        <nav aria-label="Main" className="flex flex-1 flex-wrap items-center gap-1">
          <NavItem to="/">Catalog</NavItem>
          <NavItem to="/cart">Cart ({count})</NavItem>
          {user && <NavItem to="/orders">My orders</NavItem>}
          {isAdmin && (
            <>
              <NavItem to="/admin/products">Products</NavItem>
              <NavItem to="/admin/orders">All orders</NavItem>
              <NavItem to="/ops/queues">Queues</NavItem>
              <NavItem to="/ops/dead-letters">Dead letters</NavItem>
              <NavItem to="/ops/verify">Verify</NavItem>
            </>
          )}
        </nav>
        {user ? (
          <div className="flex items-center gap-2 text-sm">
            <span
              title={connected ? 'Live updates on' : 'Live updates reconnecting'}
              className={`h-2 w-2 rounded-full ${connected ? 'bg-green-500' : 'bg-slate-300'}`}
              aria-hidden
            />
            <span className="text-slate-600">{user.name}</span>
            <button className="rounded px-2 py-1 text-indigo-700 hover:bg-slate-100" onClick={() => void logout()}>
              Sign out
            </button>
          </div>
        ) : (
          <div className="flex gap-1">
            <NavItem to="/login">Sign in</NavItem>
            <NavItem to="/register">Sign up</NavItem>
          </div>
        )}
      </div>
    </header>
  );
}

function RequireUser({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { user, isAdmin } = useAuth();
  const location = useLocation();
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname)}`} replace />;
  if (admin && !isAdmin) return <p className="p-6">This page is for administrators.</p>;
  return <>{children}</>;
}

export function App() {
  return (
    <div className="min-h-screen">
      <Header />
      <main className="mx-auto max-w-6xl px-4 py-6">
        <Routes>
          <Route path="/" element={<CatalogPage />} />
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
          <Route path="/cart" element={<CartPage />} />
          <Route path="/orders" element={<RequireUser><MyOrdersPage /></RequireUser>} />
          <Route path="/orders/:id" element={<RequireUser><OrderDetailPage /></RequireUser>} />
          <Route path="/admin/products" element={<RequireUser admin><AdminProductsPage /></RequireUser>} />
          <Route path="/admin/products/:id" element={<RequireUser admin><AdminProductPage /></RequireUser>} />
          <Route path="/admin/orders" element={<RequireUser admin><AdminOrdersPage /></RequireUser>} />
          <Route path="/ops/queues" element={<RequireUser admin><QueuesPage /></RequireUser>} />
          <Route path="/ops/dead-letters" element={<RequireUser admin><DeadLettersPage /></RequireUser>} />
          <Route path="/ops/verify" element={<RequireUser admin><VerifyPage /></RequireUser>} />
          <Route path="*" element={<p>Page not found.</p>} />
        </Routes>
      </main>
    </div>
  );
}
