//! Building a path's routes so that what it refuses follows from what it serves: a method it
//! has no route for gets 405 with `Allow` listing the methods it does have (RFC 9110 15.5.6),
//! as a problem body on machine paths and a page on people's paths. A browser GET on a page
//! path that only takes form posts (sign out, revoke buttons) is sent to a page instead.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Resource, Responder, web};

use super::pages::{Confirmation, PageError};
use crate::error::ApiError;

/// The page that shows a page path's form: the path itself when it serves GET, else where a
/// GET of it goes. A form sent after its session ended returns there after the sign-in.
#[derive(Clone, Copy)]
pub struct FormPage(pub &'static str);

/// Who the path is for, which decides how refusals look.
#[derive(Clone)]
enum Audience {
    Machines,
    /// People; a GET where only posts are served goes to this page.
    People {
        get_goes_to: &'static str,
    },
}

/// One path and its routes; register it with `cfg.service(...)`.
pub struct Endpoint {
    path: &'static str,
    confirmation: Option<Confirmation>,
    resource: Resource,
    methods: Vec<Method>,
    audience: Audience,
}

/// A path of the JSON API (or another machine path). Its path is remembered, so a test can
/// check that the OpenAPI document covers every route.
pub fn resource(path: &'static str) -> Endpoint {
    super::remember(path);
    Endpoint {
        path,
        confirmation: None,
        resource: web::resource(path),
        methods: Vec::new(),
        audience: Audience::Machines,
    }
}

/// A path of the pages. A GET on it, when it serves none, is redirected to `/`. Its path is
/// remembered too, so a test can check the guard of every admin page.
pub fn page(path: &'static str) -> Endpoint {
    super::remember_page(path);
    Endpoint {
        path,
        confirmation: None,
        resource: web::resource(path),
        methods: Vec::new(),
        audience: Audience::People { get_goes_to: "/" },
    }
}

macro_rules! method {
    ($name:ident, $method:expr, $route:path) => {
        pub fn $name<F, Args>(self, handler: F) -> Endpoint
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.route($method, $route().to(handler))
        }
    };
}

impl Endpoint {
    method!(get, Method::GET, web::get);
    method!(post, Method::POST, web::post);
    method!(delete, Method::DELETE, web::delete);

    /// For a form-only page path: where a browser that GETs it is sent.
    pub fn get_goes_to(mut self, location: &'static str) -> Endpoint {
        if let Audience::People { get_goes_to } = &mut self.audience {
            *get_goes_to = location;
        }
        self
    }

    /// For a destructive form: what to ask before it acts (its handler takes `Confirmed<T>`).
    pub fn confirm(mut self, question: &'static str, button: &'static str) -> Endpoint {
        self.confirmation = Some(Confirmation { question, button });
        self
    }

    fn route(mut self, method: Method, route: actix_web::Route) -> Endpoint {
        self.methods.push(method);
        self.resource = self.resource.route(route);
        self
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let allow = self
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let serves_get = self.methods.contains(&Method::GET);
        let mut resource = self.resource;
        if let Some(confirmation) = self.confirmation {
            resource = resource.app_data(confirmation);
        }
        if let Audience::People { get_goes_to } = &self.audience {
            resource =
                resource.app_data(FormPage(if serves_get { self.path } else { get_goes_to }));
        }
        let audience = self.audience;
        let refuse = move |method: Method| {
            let allow = allow.clone();
            let response = match &audience {
                Audience::Machines => {
                    actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed { allow })
                }
                Audience::People { get_goes_to }
                    if !serves_get && (method == Method::GET || method == Method::HEAD) =>
                {
                    super::pages::see_other(get_goes_to)
                }
                Audience::People { .. } => {
                    actix_web::ResponseError::error_response(&PageError::MethodNotAllowed { allow })
                }
            };
            async move { response }
        };
        resource
            .default_service(web::to(move |method: Method| refuse(method)))
            .register(config);
    }
}
