//! Request addresses no route can serve. A NUL character (`%00`) fits in no name or id Latchkey
//! stores, and PostgreSQL refuses it in text outright, so it is answered here, the same way on
//! both backends, before any handler or query sees it. A hand-written middleware rather than
//! `from_fn`: every request passes through it, and this one allocates nothing.

use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::{Either, MapOk, TryFutureExt};

use crate::error::ApiError;

pub struct RefuseNul;

impl<S, B> Transform<S, ServiceRequest> for RefuseNul
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RefuseNulService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RefuseNulService { service }))
    }
}

pub struct RefuseNulService<S> {
    service: S,
}

type Passed<S, B> = MapOk<
    <S as Service<ServiceRequest>>::Future,
    fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>,
>;

impl<S, B> Service<ServiceRequest> for RefuseNulService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<Passed<S, B>, Ready<Result<Self::Response, Self::Error>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let uri = request.uri();
        let has_nul = |text: &str| text.contains("%00");
        if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
            let refused = ApiError::BadRequest(
                "The address contains a NUL character (%00); no name or id can contain one.".into(),
            );
            return Either::Right(ready(Ok(request
                .error_response(refused)
                .map_into_right_body())));
        }
        let passed: fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> =
            ServiceResponse::map_into_left_body;
        Either::Left(self.service.call(request).map_ok(passed))
    }
}
